"""Figure pieces shared by `localnet plot`'s figures: panels, the epoch axis, the shading of
an alternating schedule's passes, log scales where values span decades, legends, saving.

Only matplotlib's object API is used (no pyplot, no global state), with the Agg canvas.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import AutoMinorLocator, FuncFormatter, MaxNLocator, NullFormatter
from PIL import Image

from ..writes import make_dirs, write_atomic

#: Shading of a multi-pass schedule's passes: kind -> (colour, legend label).
PASS_SHADES = {  # grey and yellow: apart from the run colours (C0 blue, C1 orange, ...)
    "inverse": ("#8c8c8c", "inverse-only pass: the inverses g learn"),
    "forward": ("#f4d03f", "forward-only pass: the forward weights f learn"),
}
SHADE_ALPHA = 0.2
DPI = 100


def figure(panels: int, columns: int = 3, width: float = 4.0, height: float = 2.9) -> tuple[Figure, list[Any]]:
    """A figure of `panels` panels (up to `columns` a row) sharing the x axis; unused cells hidden."""
    cols = min(columns, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(width * cols, height * rows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True).ravel().tolist()
    for extra in axes[panels:]:
        extra.set_visible(False)
    return fig, axes[:panels]


def epoch_axis(axis: Any, end: float | None = None) -> None:
    """Integer epoch ticks (minor ticks between them), from 0 to `end` when given."""
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.xaxis.set_minor_locator(AutoMinorLocator())
    if end is not None:
        axis.set_xlim(0, end)
    axis.set_xlabel("epoch")
    axis.tick_params(labelbottom=True)  # shared x: every panel keeps its labels


def shade_passes(axes: Iterable[Any], spans: Sequence[tuple[float, float, str]]) -> list[str]:
    """Shade each (start, end, kind) span of the schedule's passes behind the data; returns
    the kinds shaded (for the legend)."""
    kinds = []
    for axis in axes:
        for start, end, kind in spans:
            if kind in PASS_SHADES:
                axis.axvspan(start, end, color=PASS_SHADES[kind][0], alpha=SHADE_ALPHA, lw=0, zorder=0)
                if kind not in kinds:
                    kinds.append(kind)
    return kinds


def auto_log(axis: Any, values: Iterable[np.ndarray], decades: float = 1.5) -> None:
    """A log y axis when the finite values are all positive and span more than `decades`."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return
    joined = np.concatenate(finite)
    low, high = float(joined.min()), float(joined.max())
    if low > 0 and math.log10(high / low) > decades:
        log_y(axis, high / low)


def log_y(axis: Any, ratio: float) -> None:
    """A log y axis with plain numbers (0.01, 2, 300) as labels; minor ticks are labelled
    only when the values span less than a decade (`ratio`: largest / smallest)."""
    axis.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axis.yaxis.set_major_formatter(plain)
    axis.yaxis.set_minor_formatter(plain if ratio < 10 else NullFormatter())


def line(axis: Any, x: np.ndarray, y: np.ndarray, **style: Any) -> None:
    """y against x, broken where y is NaN (a step where the probe did not apply, e.g. an
    inverse-only pass); finite points with no finite neighbour are drawn as dots."""
    axis.plot(x, y, **style)
    finite = np.isfinite(y)
    before = np.concatenate([[False], finite[:-1]])
    after = np.concatenate([finite[1:], [False]])
    alone = finite & ~before & ~after
    if alone.any():
        axis.plot(x[alone], y[alone], ls="none", marker=".", ms=3, color=style.get("color"), label="_nolegend_")


def legend(fig: Figure, axes: Sequence[Any], shaded: Sequence[str] = (), title: str | None = None) -> None:
    """One legend for the figure, below the panels: every distinct line label, then the
    shaded passes."""
    handles, labels = [], []
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels and not label.startswith("_"):
                handles.append(handle)
                labels.append(label)
    for kind in shaded:
        colour, label = PASS_SHADES[kind]
        handles.append(Patch(facecolor=colour, alpha=SHADE_ALPHA * 2, lw=0))
        labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize="small",
                   frameon=False, title=title, title_fontsize="small")


def keep_finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return x[keep], y[keep]


def save(fig: Figure, path: Path) -> Path:
    """Write `fig` as a PNG with a 256-colour palette (a third of the RGBA file's size; the
    figures use a few flat colours, so nothing visible is lost)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    fix = "free some space or pass a writable --out directory"
    make_dirs(path.parent, fix)
    write_atomic(path, lambda handle: image.save(handle, format="png", optimize=True), fix)
    return path
