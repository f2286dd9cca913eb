"""`localnet inspect RUN_DIR`: what a run recorded, as a table of layers x probes.

Each row gives a probe's stored shape, the steps it covers and summary statistics over
its finite values (NaN marks steps where the probe did not apply, e.g. no update in an
inverse-only pass); `--layer`, `--probe`, `--step` narrow the table and `--values` prints
the numbers themselves. Statistics are accumulated chunk by chunk, so large tensor probes
are never loaded whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, LocalnetError
from ..registry import nearest


def open_record(run_dir: str | Path):  # -> RecordReader
    """The RecordReader of RUN_DIR/record.zarr (RUN_DIR may also be the store itself)."""
    from .store import STORE_NAME, RecordReader  # noqa: PLC0415 - zarr only when needed

    path = Path(run_dir)
    store = path if (path / "zarr.json").is_file() else path / STORE_NAME
    if not path.exists():
        raise LocalnetError(f"run directory {path} does not exist: pass a directory written by `localnet run`")
    if not (store / "zarr.json").is_file():
        raise LocalnetError(f"{path} has no {STORE_NAME}: record a run with `localnet run CONFIG --record` "
                            "(or [record] enabled = true in the config)")
    try:
        return RecordReader(store)
    except Exception as err:  # a store this version cannot read
        raise LocalnetError(f"cannot read {store} ({type(err).__name__}: {err})") from None


@dataclass(frozen=True)
class ProbeSummary:
    """One table row: finite values' count, mean, std, min and max, and the NaN count."""

    layer: str
    probe: str
    shape: tuple[int, ...]
    steps: str
    count: int
    nan: int
    mean: float
    std: float
    low: float
    high: float


def summarize(reader, layer: str, probe: str, rows: slice) -> ProbeSummary:
    """Statistics of (layer, probe) over the recorded rows in `rows`, read a chunk at a time."""
    array = reader.array(layer, probe)
    start, stop, _ = rows.indices(reader.rows)
    block = array.chunks[0]
    count = nan = 0
    total = squares = 0.0
    low, high = np.inf, -np.inf
    for begin in range(start, stop, block):
        values = np.asarray(reader.read(layer, probe, begin, min(begin + block, stop)), dtype=np.float64)
        finite = values[np.isfinite(values)]
        nan += values.size - finite.size
        if finite.size:
            count += finite.size
            total += float(finite.sum())
            squares += float((finite * finite).sum())
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    mean = total / count if count else np.nan
    std = float(np.sqrt(max(squares / count - mean * mean, 0.0))) if count else np.nan
    steps = reader.coords(layer)["step"][start:stop]
    covered = f"{steps[0]}..{steps[-1]} ({len(steps)})" if len(steps) else "none"
    return ProbeSummary(layer, probe, (stop - start, *array.shape[1:]), covered, count, nan, mean, std,
                        low if count else np.nan, high if count else np.nan)


def format_table(summaries: Sequence[ProbeSummary]) -> str:
    header = ("layer", "probe", "shape", "steps", "mean", "std", "min", "max", "nan")
    lines = [header] + [(s.layer, s.probe, "x".join(map(str, s.shape)), s.steps, f"{s.mean:.4g}", f"{s.std:.4g}",
                         f"{s.low:.4g}", f"{s.high:.4g}", str(s.nan)) for s in summaries]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def _choose(asked: Sequence[str], available: Sequence[str], option: str, where: str) -> list[str]:
    for name in asked:
        if name not in available:
            raise ConfigError(f"{option} {name}: not recorded in {where}{nearest(name, list(available))}; "
                              f"recorded: {', '.join(available)}")
    return list(asked) or list(available)


def step_row(reader, layer: str, step: int) -> int:
    """The row index of training step `step`, or a ConfigError naming the recorded neighbours."""
    steps = reader.coords(layer)["step"]
    hits = np.flatnonzero(steps == step)
    if hits.size:
        return int(hits[0])
    every = reader.attrs.get("record", {}).get("every", "?")
    if not steps.size:
        raise ConfigError(f"--step {step}: nothing has been flushed to the store yet")
    near = steps[np.argsort(np.abs(steps - step))[:2]]
    raise ConfigError(f"--step {step} was not recorded (every {every} steps, {steps[0]}..{steps[-1]}): "
                      f"nearest recorded steps {', '.join(map(str, sorted(near)))}")


def inspect_run(run_dir: str | Path, layers: Sequence[str] = (), probes: Sequence[str] = (),
                step: int | None = None, values: bool = False, echo: Callable[[str], None] = print) -> None:
    """Print the header, the layers x probes table and, with `values`, the selected numbers."""
    reader = open_record(run_dir)
    attrs = reader.attrs
    every = attrs.get("record", {}).get("every", "?")
    state = "complete" if attrs.get("complete") else "in progress or interrupted: rows up to the last flush"
    echo(f"{reader.path}: run {attrs.get('name', '?')} (rule {attrs.get('rule', '?')}), "
         f"{len(reader.layers)} layers, {reader.rows} recorded steps (every {every}), {state}")
    if attrs.get("cost"):
        cost = attrs["cost"]
        where = "in a writer thread" if cost.get("background") else "part of the flushes"
        echo(f"cost: recording {cost.get('record_seconds', 0):.2f} s and flushes {cost.get('flush_seconds', 0):.2f} s "
             f"in the training thread (zarr writes {cost.get('write_seconds', 0):.2f} s, {where}), "
             f"angle analysis {cost.get('angle_seconds', 0):.2f} s")
    chosen = _choose(layers, reader.layers, "--layer", str(reader.path))
    recorded = sorted({p for layer in chosen for p in reader.probes(layer)})
    _choose(probes, recorded, "--probe", ", ".join(chosen) if len(chosen) < 4 else "the chosen layers")
    summaries, selections = [], []
    for layer in chosen:
        available = reader.probes(layer)
        rows = slice(None)
        if step is not None:
            row = step_row(reader, layer, step)
            rows = slice(row, row + 1)
        for probe in [p for p in probes if p in available] if probes else available:
            summaries.append(summarize(reader, layer, probe, rows))
            selections.append((layer, probe, rows))
    echo(format_table(summaries))
    if values:
        for layer, probe, rows in selections:
            _echo_values(reader, layer, probe, rows, echo)


def _echo_values(reader, layer: str, probe: str, rows: slice, echo: Callable[[str], None]) -> None:
    start, stop, _ = rows.indices(reader.rows)
    data = reader.read(layer, probe, start, stop)
    steps = reader.coords(layer)["step"][start:stop]
    echo(f"\n{layer}/{probe} ({reader.array(layer, probe).attrs.get('units', '')}):")
    if data.ndim == 1:
        for s, v in zip(steps, data):
            echo(f"  step {s:>8}  {v:.6g}")
        return
    with np.printoptions(precision=4, threshold=400, edgeitems=3, linewidth=100):
        for s, row in zip(steps, data):
            echo(f"  step {s} (examples x units):\n{np.array2string(row)}")
