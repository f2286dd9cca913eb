"""`localnet plot RUN_DIR [RUN_DIR ...]`: PNGs of one run, or of several overlaid.

- errors.png: train (dashed) and test (solid) error after each epoch, from metrics.jsonl;
  beside it, for recorded runs, the output layer's ||one-hot - softmax||_2 on the training
  batches per recorded step (the curve within epochs);
- inverse_error.png: per layer, the inverse's reconstruction error ||g(f(h)) - h||^2 (TP rules);
- target_gap.png: per layer, the gap ||t - h||_2 between the target it received and its activation;
- activations.png: per layer, the median and 25-75 % / 5-95 % quantiles of its activations;
- update_norm.png, weight_norm.png: per layer, the size of the rule's update and of W;
- angle.png: per layer, the angle between the rule's update and the BP gradient (runs
  recorded with record.angle = true).

Per-step series are drawn against the epoch, with an alternating schedule's inverse-only
and forward-only passes shaded. Runs without a record.zarr still get their error curves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import LocalnetError
from .plot_axes import save
from .plot_figures import activations_figure, errors_figure, series_figure
from .plot_run import RUN_FILES, Run

#: file name -> why it may be missing (printed as "skipped NAME (WHY)").
FIGURES = {
    "errors.png": "no metrics.jsonl rows and no recorded output gap yet",
    "inverse_error.png": "no layer has an inverse; TP rules record inverse_error by default",
    "target_gap.png": "no hidden layer received targets; TP rules record target_gap by default",
    "activations.png": "no run recorded forward or act_mean",
    "update_norm.png": "no run recorded update_norm",
    "weight_norm.png": "no run recorded weight_norm",
    "angle.png": "no run recorded the angle: --record-angle, or record.angle = true",
}


def labels_for(paths: Sequence[Path]) -> list[str]:
    """Directory names, or full paths where two names clash."""
    names = [p.name or str(p) for p in paths]
    return [str(p) if names.count(n) > 1 else n for p, n in zip(paths, names)]


def build_figures(runs: Sequence[Run]) -> dict[str, Any]:
    """File name -> matplotlib Figure (unsaved) or None when no run has the data."""
    return {
        "errors.png": errors_figure(runs),
        "inverse_error.png": series_figure(
            runs, "inverse_error", "inverse reconstruction error: how well g_l undoes f_l on the layer's input",
            "||g(f(h)) - h||$^2$ (batch mean)"),
        "target_gap.png": series_figure(  # the output layer's gap is in errors.png
            runs, "target_gap", "target gap of the hidden layers: distance from the target received to the activation",
            "||t - h||$_2$ (batch mean)", skip_output=True),
        "activations.png": activations_figure(runs),
        "update_norm.png": series_figure(
            runs, "update_norm", "size of the rule's update of W (dL/dW before Adam)", "||dL/dW||$_F$"),
        "weight_norm.png": series_figure(runs, "weight_norm", "size of the forward weights W", "||W||$_F$"),
        "angle.png": series_figure(runs, "angle", "angle between the rule's update of W and the BP gradient",
                                   "angle (degrees)", reference=(90.0, "90 degrees: orthogonal to the BP gradient")),
    }


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path | None = None,
              echo: Callable[[str], None] = print) -> list[Path]:
    """Write the PNGs for `run_dirs` (overlaid) into `out` (default: RUN_DIR/plots for one
    run, ./plots for several); returns the files written. Nothing is created when there is
    nothing to plot (a LocalnetError says why)."""
    paths = [Path(p) for p in run_dirs]
    runs = [Run(p, label) for p, label in zip(paths, labels_for(paths))]
    figures = build_figures(runs)
    if all(fig is None for fig in figures.values()):
        names = ", ".join(str(p) for p in paths)
        raise LocalnetError(f"nothing to plot in {names} yet: no metrics.jsonl rows and no {RUN_FILES[2]} "
                            "(record with `localnet run CONFIG --record`)")
    target = Path(out) if out is not None else (paths[0] / "plots" if len(paths) == 1 else Path("plots"))
    written = []
    for name, fig in figures.items():
        if fig is None:
            echo(f"skipped {name} ({FIGURES[name]})")
        else:
            written.append(save(fig, target / name))
    return written
