"""Figures for the report: learning curves per paper table, and the paper's Fig. 5 (how the
best test error is spread over a random search's trials, per rule)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..writes import make_dirs, write_atomic
from .paper import LABELS, METHODS, PaperTable, method_of, network_of
from .runs import Run
from .tables import NETS, best_run, cell_runs


def _pyplot():
    import matplotlib  # noqa: PLC0415 - only when figures are asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fix = "free some space or choose a writable --figures folder"
    make_dirs(path.parent, fix)
    try:
        write_atomic(path, lambda handle: fig.savefig(handle, dpi=90, format="png"), fix)
    finally:
        plt.close(fig)
    return path


def curves(runs: Sequence[Run], table: PaperTable, path: Path) -> Path | None:
    """Test (solid) and train (dashed) error by epoch of each cell's best run, one panel per
    network; the paper's test error as a dotted level in the method's colour. None if the table
    has no runs."""
    nets = [net for net in table.cells if any(cell_runs(runs, table, net, m) for m in METHODS)]
    if not nets:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(nets), figsize=(6.4 * len(nets), 4.4), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, net in zip(axes[0], nets):
        for i, method in enumerate(METHODS):
            members = cell_runs(runs, table, net, method)
            if not members:
                continue
            run, colour = best_run(members), colours(i)
            epochs = [row["epoch"] for row in run.rows]
            ax.plot(epochs, [row["test_error"] for row in run.rows], color=colour, label=LABELS[method])
            train = [row.get("train_error") for row in run.rows]
            if all(t is not None for t in train):
                ax.plot(epochs, train, color=colour, linestyle="--", linewidth=0.8)
            paper = table.cells[net][method][0 if table.key == "table2" else 1]
            ax.axhline(paper, color=colour, linestyle=":", linewidth=0.8)
        ax.set_title(f"{table.title}, {NETS[net]}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("error % (test solid, train dashed, paper dotted)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def search_spread(runs: Sequence[Run], path: Path) -> Path | None:
    """Fig. 5: histograms of the best test error of every trial of every sweep, one panel per
    (dataset, network), one colour per method. None if no run belongs to a sweep."""
    trials = [r for r in runs if r.sweep is not None]
    if not trials:
        return None
    panels = sorted({(r.config["data"]["dataset"], network_of(r.config)) for r in trials})
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (dataset, net) in zip(axes[0], panels):
        members = [r for r in trials if r.config["data"]["dataset"] == dataset and network_of(r.config) == net]
        methods = sorted({method_of(r.config) for r in members}, key=lambda m: ((*METHODS, m)).index(m))
        values = [r.best["test_error"] for r in members]
        bins = 20 if max(values) > min(values) else 1
        for i, method in enumerate(methods):
            best = [r.best["test_error"] for r in members if method_of(r.config) == method]
            ax.hist(best, bins=bins, range=(min(values), max(values) + 1e-9), alpha=0.6,
                    color=colours(METHODS.index(method) if method in METHODS else i),
                    label=f"{LABELS.get(method, method)} ({len(best)} trials)")
        ax.set_title(f"{dataset}, {NETS[net]}: best test error per trial")
        ax.set_xlabel("best test error %")
        ax.set_ylabel("trials")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)
