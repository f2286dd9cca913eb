"""The figures of `localnet plot`, each built from a list of Runs (several are overlaid, one
colour per run) and returned unsaved, or None when no run has what it needs.

Per-step series are drawn against the epoch (see plot_run.Run.epochs), behind them the
passes of an alternating schedule (inverse-only and forward-only) are shaded, and values
that span decades get a log axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .plot_axes import auto_log, epoch_axis, figure, keep_finite, legend, line, shade_passes
from .plot_run import Run

#: Quantile levels of the activation plots: a 5-95 % band, a 25-75 % band and the median.
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def colour(index: int) -> str:
    return f"C{index % 10}"


def epoch_end(runs: Sequence[Run]) -> float:
    """The last epoch any run reached (metrics rows or recorded steps), at least 1."""
    ends = [1.0]
    for run in runs:
        ends += [float(row["epoch"]) for row in run.metrics if "epoch" in row]
        if run.record is not None and run.record.layers and run.record.rows:
            steps = run.coords(run.record.layers[0])["step"]
            ends.append(float(math.ceil((int(steps[-1]) + 1) / (run.steps_per_epoch or 1))))
    return max(ends)


def shaded_spans(runs: Sequence[Run]) -> tuple[list[tuple[float, float, str]], str | None]:
    """The pass spans of the first run with a multi-pass schedule, and its label when it is
    not the only run."""
    for run in runs:
        spans = run.phase_spans()
        if spans:
            return spans, (run.label if len(runs) > 1 else None)
    return [], None


def layer_order(name: str) -> tuple[int, str]:
    digits = name.removeprefix("layer")
    return (int(digits), name) if digits.isdigit() else (10**9, name)


def errors_figure(runs: Sequence[Run]) -> Any:
    """Train (dashed) and test (solid) error after each epoch; beside it, when the runs
    recorded the output layer's target gap, ||one-hot - softmax||_2 on the training batches
    per recorded step (the curve within epochs). Runs of one epoch have no per-epoch curve:
    they get the curve within the epoch alone, with the epoch's errors in the legend."""
    gaps = []  # (run index, run, (epochs, values)) of the output layer's target gap
    for index, run in enumerate(runs):
        gap = run.series("target_gap").get(run.output_layer() or "")
        if gap is not None and np.isfinite(gap[1]).any():
            gaps.append((index, run, gap))
    per_epoch = any(len(run.metrics) > 1 for run in runs) or (not gaps and any(run.metrics for run in runs))
    if not per_epoch and not gaps:
        return None
    fig, axes = figure(int(per_epoch) + int(bool(gaps)), columns=2, width=5.0, height=3.4)
    end = epoch_end(runs) + 0.05
    if per_epoch:
        _per_epoch_panel(axes[0], runs, end)
    kinds: list[str] = []
    owner = None
    if gaps:
        axis = axes[-1]
        spans, owner = shaded_spans(runs)
        for index, run, (x, y) in gaps:
            label = run.label if len(runs) > 1 else "_nolegend_"
            if not per_epoch and run.metrics:
                label = f"{run.label + ': ' if len(runs) > 1 else ''}{_errors_text(run.metrics[-1])}"
            line(axis, x, y, color=colour(index), lw=1, label=label)
        auto_log(axis, [gap[1] for _, _, gap in gaps])
        axis.set(ylabel="||one-hot - softmax||$_2$ (batch mean)",
                 title="output error on training batches, per recorded step")
        epoch_axis(axis, end)
        kinds = shade_passes([axis], spans)
    legend(fig, axes, kinds, title=f"shaded: the passes of {owner}" if owner and kinds else None)
    return fig


def _per_epoch_panel(axis: Any, runs: Sequence[Run], end: float) -> None:
    plotted = []
    for index, run in enumerate(runs):
        epochs = np.array([row["epoch"] for row in run.metrics], dtype=np.float64)
        for key, style, marker, name in (("test_error", "-", "o", "test"), ("train_error", "--", "x", "train")):
            x, y = keep_finite(epochs, np.array([_num(row.get(key)) for row in run.metrics]))
            if y.size:
                axis.plot(x, y, color=colour(index), ls=style, marker=marker, ms=4,
                          label=f"{run.label}: {name}" if len(runs) > 1 else name)
                plotted.append(y)
    auto_log(axis, plotted)
    axis.set(ylabel="error (%)", title="error after each epoch (full train and test sets)")
    if all(len(run.metrics) <= 1 for run in runs):
        axis.text(0.5, 0.5, "one epoch: record the run (--record)\nfor the curve within it",
                  transform=axis.transAxes, ha="center", va="center", fontsize="small", color="0.4")
    epoch_axis(axis, end)


def _errors_text(row: dict[str, Any]) -> str:
    """e.g. "after epoch 1: test error 57.58 %, train error 58.15 %"."""
    parts = [f"{name} error {float(row[key]):.2f} %" for key, name in (("test_error", "test"), ("train_error", "train"))
             if row.get(key) is not None]
    return f"after epoch {row.get('epoch', '?')}: " + ", ".join(parts)


def series_figure(runs: Sequence[Run], probe: str, title: str, ylabel: str, *, skip_output: bool = False,
                  log: bool = True, reference: tuple[float, str] | None = None) -> Any:
    """One panel per layer, one colour per run. skip_output: leave out the output layer;
    log: a log axis where the values span decades; reference: (y, label) of a dotted line,
    with the y axis from 0 to past it (e.g. 90 degrees for the angle)."""
    data = [(run, run.series(probe)) for run in runs]
    outputs = {run.output_layer() for run in runs} if skip_output else set()
    layers = sorted({layer for _, by in data for layer, (_, v) in by.items()
                     if np.isfinite(v).any() and layer not in outputs}, key=layer_order)

    def draw(axis: Any, layer: str) -> None:
        values = []
        for index, (run, by) in enumerate(data):
            if layer in by:
                x, y = by[layer]
                line(axis, x, y, color=colour(index), lw=1.1, label=run.label if len(runs) > 1 else "_nolegend_")
                values.append(y[np.isfinite(y)])
        if reference is not None:
            axis.axhline(reference[0], color="0.35", ls=":", lw=1, label=reference[1])
            top = max([reference[0]] + [float(v.max()) for v in values if v.size])
            axis.set_ylim(-0.03 * top, top * 1.1)  # a line at 0 (the output layer's delta rule) stays visible
        elif log:
            auto_log(axis, values)

    return layer_panels(runs, layers, draw, title, ylabel)


def activations_figure(runs: Sequence[Run]) -> Any:
    """Per layer, the spread of its activations at each recorded step: the median, the
    25-75 % and 5-95 % quantiles over the kept examples and units (from the forward probe;
    with several runs the 5 % and 95 % quantiles are dotted lines, not a band). Runs without
    the forward probe get mean +- std, clipped to [0, 1] for softmax."""
    layers = sorted({layer for run in runs if run.record is not None for layer in run.record.layers
                     if {"forward", "act_mean"} & set(run.record.probes(layer))}, key=layer_order)

    def draw(axis: Any, layer: str) -> None:
        values = []
        for index, run in enumerate(runs):
            if run.record is None or layer not in run.record.layers:
                continue
            name = f"{run.label}: " if len(runs) > 1 else ""
            spread = run.quantiles(layer, LEVELS)
            if spread is not None and spread[0].size:
                x, q = spread
                if len(runs) == 1:
                    axis.fill_between(x, q[:, 0], q[:, 4], color=colour(index), alpha=0.15, lw=0, label="5-95 %")
                else:  # overlaid runs: outer bands as thin lines, so that the runs stay apart
                    axis.plot(x, q[:, 0], color=colour(index), lw=0.6, ls=":", label=f"{name}5 % and 95 %")
                    axis.plot(x, q[:, 4], color=colour(index), lw=0.6, ls=":", label="_nolegend_")
                axis.fill_between(x, q[:, 1], q[:, 3], color=colour(index), alpha=0.35, lw=0,
                                  label=f"{name}25-75 %")
                axis.plot(x, q[:, 2], color=colour(index), lw=1.2, label=f"{name}median")
                values += [q[:, 0], q[:, 4]]
            elif "act_mean" in run.record.probes(layer):
                x, mean = run.series("act_mean")[layer]
                std = run.series("act_std").get(layer, (x, np.zeros_like(mean)))[1]
                low, high = mean - std, mean + std
                if "softmax" in str(run.record.group(layer).attrs.get("type", "")).lower():
                    low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
                keep = np.isfinite(mean) & np.isfinite(std)
                axis.fill_between(x[keep], low[keep], high[keep], color=colour(index), alpha=0.2, lw=0,
                                  label=f"{name}mean +- std")
                axis.plot(x[keep], mean[keep], color=colour(index), lw=1.2, label=f"{name}mean")
                values += [low[keep], high[keep]]
        if _is_softmax(runs, layer):
            auto_log(axis, values, decades=2)

    return layer_panels(runs, layers, draw, "activations per recorded step: quantiles over the kept examples and units",
                        "activation h")


def layer_panels(runs: Sequence[Run], layers: Sequence[str], draw: Callable[[Any, str], None], title: str,
                 ylabel: str) -> Any:
    """A figure of one panel per layer (None without layers): draw(axis, layer) plots a panel's
    curves; each panel then gets the layer's title, ylabel and the epoch axis, and all of them
    the shaded passes of one run, the figure's title and a shared legend."""
    if not layers:
        return None
    fig, axes = figure(len(layers))
    spans, owner = shaded_spans(runs)
    end = epoch_end(runs)
    for axis, layer in zip(axes, layers):
        draw(axis, layer)
        axis.set(title=_title(runs, layer), ylabel=ylabel)
        epoch_axis(axis, end)
    kinds = shade_passes(axes, spans)
    fig.suptitle(title)
    legend(fig, axes, kinds, title=f"shaded: the passes of {owner}" if owner and kinds else None)
    return fig


def _is_softmax(runs: Sequence[Run], layer: str) -> bool:
    return any(run.record is not None and layer in run.record.layers
               and "softmax" in str(run.record.group(layer).attrs.get("type", "")).lower() for run in runs)


def _title(runs: Sequence[Run], layer: str) -> str:
    for run in runs:
        if run.record is not None and layer in run.record.layers:
            return run.layer_title(layer)
    return layer


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)
