"""The paper's question, scaling: each rule's test error relative to BP's on every network and
dataset, ours beside the paper's (a table and a figure), and the paper's qualitative claims
checked one by one against our runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .paper import LABELS, METHODS, tables
from .runs import Run
from .tables import best_run, cell_runs, markdown_table

#: (table key, network, label) in the order of the paper's scaling story
SETTINGS = (("table1a", "fc", "MNIST-FC"), ("table1a", "lc", "MNIST-LC"), ("table1b", "fc", "CIFAR-FC"),
            ("table1b", "lc", "CIFAR-LC"), ("table2", "lc", "ImageNet-LC"))


@dataclass(frozen=True)
class Cell:
    """One (setting, method): our best test (ImageNet: top-1) error and the epochs of that
    run, or None where nothing ran; the paper's, or None where it has no entry."""

    ours: float | None
    epochs: int | None
    paper: float | None

    def text(self) -> str:
        return "-" if self.ours is None else f"{self.ours:.2f} ({self.epochs} ep)"


def cell(runs: Sequence[Run], setting: str, method: str) -> Cell:
    key, net, _ = next(s for s in SETTINGS if s[2] == setting)
    table = next(t for t in tables() if t.key == key)
    paper_cell = table.cells.get(net, {}).get(method)
    paper = None if paper_cell is None else paper_cell[0 if key == "table2" else 1]
    members = cell_runs(runs, table, net, method)
    if not members:
        return Cell(None, None, paper)
    best = best_run(members)
    return Cell(best.best["test_error"], len(best.rows), paper)


def gaps(runs: Sequence[Run], setting: str, method: str) -> tuple[float | None, float | None, int | None]:
    """(ours - our BP, paper's - paper's BP, the epochs of our run) in percentage points."""
    this, bp = cell(runs, setting, method), cell(runs, setting, "bp")
    ours = None if this.ours is None or bp.ours is None else this.ours - bp.ours
    paper = None if this.paper is None or bp.paper is None else this.paper - bp.paper
    return ours, paper, this.epochs


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def scaling_table(runs: Sequence[Run]) -> str:
    """Rows: rules; columns: settings; each entry "ours (epochs) / paper", as the test error
    minus BP's on the same network and data (points)."""
    head = ["test err - BP's (points): ours (epochs) / paper", *[s[2] for s in SETTINGS]]
    rows = []
    for method in METHODS:
        if method == "bp":
            continue
        row = [LABELS[method]]
        for _, _, setting in SETTINGS:
            ours, paper, epochs = gaps(runs, setting, method)
            row.append("" if ours is None and paper is None else
                       f"{_gap(ours)}{f' ({epochs} ep)' if ours is not None else ''} / {_gap(paper)}")
        rows.append(row)
    return markdown_table(head, rows)


def scaling_figure(runs: Sequence[Run], path: Path) -> Path | None:
    """One panel per rule: its gap to BP across the settings, ours (filled, labelled with the
    epochs run) and the paper's (hollow). None if no rule has both itself and BP measured."""
    methods = [m for m in METHODS if m != "bp" and any(gaps(runs, s[2], m)[0] is not None for s in SETTINGS)]
    if not methods:
        return None
    from .figures import _pyplot, _save  # noqa: PLC0415 - matplotlib only when a figure is asked for

    plt = _pyplot()
    cols = min(3, len(methods))
    rows = -(-len(methods) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    labels = [s[2] for s in SETTINGS]
    for ax, method in zip(axes.ravel(), methods):
        values = [gaps(runs, label, method) for label in labels]
        for x, (ours, paper, epochs) in enumerate(values):
            if paper is not None:
                ax.plot(x, paper, "o", mfc="none", color="C1")
            if ours is not None:
                ax.plot(x, ours, "o", color="C0")
                ax.annotate(f"{epochs} ep", (x, ours), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.plot([], [], "o", color="C0", label="ours (epochs run)")
        ax.plot([], [], "o", mfc="none", color="C1", label="paper (500 epochs)")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        ax.set_title(LABELS[method])
        ax.set_ylabel("test error - BP's (points)")
        ax.grid(alpha=0.3)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    return _save(plt, fig, path)


# -- the paper's claims -------------------------------------------------------------------

Verdict = tuple[str, str]  # (holds | does not hold | not yet measurable, the numbers)
NOT_YET = "not yet measurable"


def _close_to_bp(runs: Sequence[Run]) -> Verdict:
    ours, paper, epochs = gaps(runs, "CIFAR-FC", "dtp_alternating")
    if ours is None:
        return NOT_YET, f"DTP-alternating or BP on CIFAR-FC has no run (paper: {_gap(paper)} points)"
    return ("holds" if ours <= 2.0 else "does not hold",
            f"DTP-alternating - BP on CIFAR-FC: ours {ours:+.2f} ({epochs} epochs), paper {paper:+.2f}")


def _fa_worse_on_lc(runs: Sequence[Run]) -> Verdict:
    fc, paper_fc, e_fc = gaps(runs, "CIFAR-FC", "fa")
    lc, paper_lc, e_lc = gaps(runs, "CIFAR-LC", "fa")
    paper = f"paper {paper_fc:+.2f} (FC) and {paper_lc:+.2f} (LC)"
    if fc is None or lc is None:
        return NOT_YET, f"FA - BP on CIFAR: ours FC {_gap(fc)}, LC {_gap(lc)}; {paper}"
    return ("holds" if lc > fc else "does not hold",
            f"FA - BP on CIFAR: ours {fc:+.2f} (FC, {e_fc} ep) and {lc:+.2f} (LC, {e_lc} ep); {paper}")


def _bp_lc_close_to_convnet(runs: Sequence[Run]) -> Verdict:
    lc, conv = cell(runs, "CIFAR-LC", "bp"), cell(runs, "CIFAR-LC", "bp_convnet")
    assert lc.paper is not None and conv.paper is not None
    paper = f"paper {lc.paper:.2f} against {conv.paper:.2f}"
    if lc.ours is None or conv.ours is None:
        return NOT_YET, f"CIFAR-LC BP {lc.text()}, BP ConvNet {conv.text()}; {paper}"
    return ("holds" if abs(lc.ours - conv.ours) <= 1.0 else "does not hold",
            f"CIFAR-LC BP {lc.text()} against BP ConvNet {conv.text()}; {paper}")


def _pairs(runs: Sequence[Run], better: str, worse: str, settings: Sequence[str]) -> Verdict:
    """`better_SCHEDULE` against `worse_SCHEDULE` for both schedules on every setting."""
    found, wins = [], 0
    for setting in settings:
        for schedule in ("parallel", "alternating"):
            a, b = cell(runs, setting, f"{better}_{schedule}"), cell(runs, setting, f"{worse}_{schedule}")
            if a.ours is not None and b.ours is not None:
                wins += a.ours < b.ours
                found.append(f"{setting} {schedule[:3]}: {a.ours:.2f} vs {b.ours:.2f}")
    if not found:
        return NOT_YET, "no setting has both measured"
    verdict = "holds" if wins == len(found) else "does not hold" if wins == 0 else f"holds in {wins} of {len(found)}"
    return verdict, "; ".join(found)


def _ao_better(runs: Sequence[Run]) -> Verdict:
    return _pairs(runs, "aosdtp", "sdtp", ("CIFAR-FC", "CIFAR-LC"))


def _alternating_better(runs: Sequence[Run]) -> Verdict:
    found, unequal, wins = [], [], 0
    for setting in ("MNIST-FC", "MNIST-LC", "CIFAR-FC", "CIFAR-LC"):
        for rule in ("dtp", "sdtp", "aosdtp"):
            alt, par = cell(runs, setting, f"{rule}_alternating"), cell(runs, setting, f"{rule}_parallel")
            if alt.ours is None or par.ours is None:
                continue
            if alt.epochs != par.epochs:  # a longer run's best is not comparable: listed, not counted
                unequal.append(f"{setting} {rule}: {alt.ours:.2f} ({alt.epochs} ep) vs {par.ours:.2f} ({par.epochs} ep)")
                continue
            wins += alt.ours <= par.ours
            found.append(f"{setting} {rule}: {alt.ours:.2f} vs {par.ours:.2f} ({alt.epochs} ep)")
    rest = f"; not compared (unequal epochs): {'; '.join(unequal)}" if unequal else ""
    if not found:
        return NOT_YET, "no setting has both schedules measured at equal epochs" + rest
    verdict = "holds" if wins == len(found) else "does not hold" if wins == 0 else f"holds in {wins} of {len(found)}"
    return verdict, "alternating vs parallel best test error: " + "; ".join(found) + rest


#: (claim, where the paper makes it, the check)
CLAIMS: tuple[tuple[str, str, Callable[[Sequence[Run]], Verdict]], ...] = (
    ("DTP-alternating roughly matches BP on CIFAR-10 FC (within 2 points)", "section 3.2; Table 1(b)", _close_to_bp),
    ("FA is further behind BP on the LC net than on the FC net (CIFAR-10)", "section 3.2; Table 1(b)", _fa_worse_on_lc),
    ("BP on the LC net comes close to the BP ConvNet (CIFAR-10, within 1 point)", "section 3.2; Table 1(b)",
     _bp_lc_close_to_convnet),
    ("AO-SDTP beats SDTP (CIFAR-10, both schedules, FC and LC)", "section 3.2", _ao_better),
    ("The alternating schedule ends better than the parallel one (TP rules)", "sections 3.1 and 5.3",
     _alternating_better),
)


def claims_table(runs: Sequence[Run]) -> str:
    rows = []
    for claim, where, check in CLAIMS:
        verdict, numbers = check(runs)
        rows.append([claim, where, verdict, numbers])
    return markdown_table(["the paper's claim", "where", "ours", "numbers (best test error %)"], rows)
