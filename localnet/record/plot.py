"""`localnet plot RUN_DIR [RUN_DIR ...]`: PNGs of one run, or of several overlaid.

- errors.png: train (dashed) and test (solid) error per epoch, from metrics.jsonl;
- angle.png: per layer, the angle between the rule's update and the BP gradient over
  training (runs recorded with record.angle = true);
- activations.png: per layer, the mean activation with a band of +- one std;
- norms.png: per layer, the update and weight norms (log scale).

Runs without a record.zarr still get their error curves. Only matplotlib's object API is
used (no pyplot, no global state), with the Agg canvas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LocalnetError


def _figure(panels: int) -> tuple[Any, list[Any]]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:
        raise LocalnetError("localnet plot needs matplotlib: pip install 'localnet[plot]'") from None
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    figure = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False, sharex=True).ravel().tolist()
    for extra in axes[panels:]:
        extra.set_visible(False)
    return figure, axes[:panels]


class Run:
    """What plotting needs from a run directory: its label, metrics rows and record."""

    def __init__(self, path: Path, label: str) -> None:
        if not path.is_dir():
            raise LocalnetError(f"run directory {path} does not exist: pass directories written by `localnet run`")
        self.path, self.label = path, label
        metrics = path / "metrics.jsonl"
        lines = metrics.read_text(encoding="utf-8").splitlines() if metrics.is_file() else []
        self.metrics = [json.loads(line) for line in lines if line.strip()]
        from .inspect import open_record  # noqa: PLC0415
        from .store import STORE_NAME  # noqa: PLC0415

        self.record = open_record(path) if (path / STORE_NAME / "zarr.json").is_file() else None

    def series(self, probe: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """layer -> (steps, values) for a series probe, where recorded."""
        out = {}
        if self.record is not None:
            for layer in self.record.layers:
                if probe in self.record.probes(layer):
                    out[layer] = (self.record.coords(layer)["step"], self.record.read(layer, probe))
        return out


def labels_for(paths: Sequence[Path]) -> list[str]:
    """Directory names, or full paths where two names clash."""
    names = [p.name or str(p) for p in paths]
    return [str(p) if names.count(n) > 1 else n for p, n in zip(paths, names)]


def plot_errors(runs: Sequence[Run], out: Path) -> Path | None:
    shown = [run for run in runs if run.metrics]
    if not shown:
        return None
    figure, (axis,) = _figure(1)
    for index, run in enumerate(shown):
        color = f"C{index % 10}"
        epochs = [row["epoch"] for row in run.metrics]
        test = [_num(row.get("test_error")) for row in run.metrics]
        train = [_num(row.get("train_error")) for row in run.metrics]
        axis.plot(epochs, test, color=color, marker="o", ms=3, label=f"{run.label} test")
        if not all(math.isnan(v) for v in train):
            axis.plot(epochs, train, color=color, ls="--", marker="x", ms=4, label=f"{run.label} train")
    axis.set(xlabel="epoch", ylabel="error (%)", title="train and test error")
    axis.legend(fontsize="small")
    return _save(figure, out / "errors.png")


def plot_layers(runs: Sequence[Run], out: Path, name: str, probes: Sequence[str], title: str, ylabel: str,
                log: bool = False, band: str | None = None) -> Path | None:
    """One panel per layer, one line per run and probe; `band` adds +- that probe around the first."""
    data = [(run, {p: run.series(p) for p in (*probes, *([band] if band else []))}) for run in runs]
    layers = sorted({layer for _, by in data for p in probes for layer in by[p]}, key=_layer_order)
    if not layers:
        return None
    figure, axes = _figure(len(layers))
    for axis, layer in zip(axes, layers):
        for index, (run, by) in enumerate(data):
            for style, probe in zip(("-", "--", ":"), probes):
                if layer not in by[probe]:
                    continue
                steps, values = by[probe][layer]
                keep = np.isfinite(values)
                label = run.label if len(probes) == 1 else f"{run.label} {probe}"
                axis.plot(steps[keep], values[keep], color=f"C{index % 10}", ls=style, lw=1.2, label=label)
                if band and probe == probes[0] and layer in by[band]:
                    spread = by[band][layer][1][keep]
                    axis.fill_between(steps[keep], values[keep] - spread, values[keep] + spread,
                                      color=f"C{index % 10}", alpha=0.2, lw=0)
        axis.set(title=layer, xlabel="training step", ylabel=ylabel)
        if log:
            axis.set_yscale("log")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="x-small")
    figure.suptitle(title)
    return _save(figure, out / name)


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path, echo: Callable[[str], None] = print) -> list[Path]:
    """Write the PNGs for `run_dirs` (overlaid) into `out`; returns the files written."""
    paths = [Path(p) for p in run_dirs]
    runs = [Run(p, label) for p, label in zip(paths, labels_for(paths))]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        plot_errors(runs, out),
        plot_layers(runs, out, "angle.png", ["angle"], "angle between the rule's update and the BP gradient",
                    "degrees"),
        plot_layers(runs, out, "activations.png", ["act_mean"], "activations: mean +- std", "activation",
                    band="act_std"),
        plot_layers(runs, out, "norms.png", ["update_norm", "weight_norm"], "update and weight norms",
                    "Frobenius norm", log=True),
    ]
    for name, path in zip(("errors.png (no metrics.jsonl rows yet)", "angle.png (no run recorded the angle: "
                           "record.angle = true)", "activations.png (nothing recorded)", "norms.png (nothing recorded)"),
                          written):
        if path is None:
            echo(f"skipped {name}")
    return [p for p in written if p is not None]


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, dpi=110)
    return path


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _layer_order(name: str) -> tuple[int, str]:
    digits = name.removeprefix("layer")
    return (int(digits), name) if digits.isdigit() else (10**9, name)
