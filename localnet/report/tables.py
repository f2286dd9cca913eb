"""Markdown tables from runs: against the paper's tables cell by cell, per run, per seed group."""

from __future__ import annotations

from collections.abc import Sequence

from .paper import LABELS, METHODS, PaperTable, method_of, network_of, published, tables
from .runs import Run, seed_key, spread

NETS = {"fc": "FC", "lc": "LC"}


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def cell_runs(runs: Sequence[Run], table: PaperTable, net: str, method: str) -> list[Run]:
    """The runs of one cell of a paper table: same dataset, network and method."""
    return [r for r in runs if r.config["data"]["dataset"] == table.dataset and network_of(r.config) == net
            and method_of(r.config) == method]


def best_run(members: Sequence[Run]) -> Run:
    return min(members, key=lambda r: (r.best["test_error"], r.label))


def _typical(members: Sequence[Run], best: Run) -> str:
    """The seed spread of the best run's setting (its runs that differ only in the seed)."""
    key = seed_key(best.config)
    by_seed = {r.config.get("seed", 0): r.best["test_error"] for r in members if seed_key(r.config) == key}
    return spread(list(by_seed.values()))


def _epochs(members: Sequence[Run]) -> str:
    epochs = sorted({len(r.rows) for r in members})
    return str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}-{epochs[-1]}"


def paper_table(runs: Sequence[Run], table: PaperTable, net: str) -> str:
    """Each row of the paper's table for one network: our best test error over the cell's runs
    (and its epoch), the seed spread of that best setting, the epochs run, how many runs, the
    paper's number and our gap to it (percentage points; negative: lower error than the paper)."""
    top5 = table.key == "table2"
    err = "top-1 err %" if top5 else "test err %"
    head = [f"{table.title}, {NETS[net]}", f"ours: best {err} (epoch)", "best setting over seeds", "epochs run",
            "runs", f"paper {err}", "ours - paper"]
    if top5:
        head += ["ours top-5 err %", "paper top-5 err %"]
    rows = []
    for method in METHODS:
        if method not in table.cells[net]:
            continue
        members = cell_runs(runs, table, net, method)
        paper = table.cells[net][method][0 if top5 else 1]
        if members:
            best = best_run(members)
            ours = best.best["test_error"]
            row = [LABELS[method], f"{ours:.2f} ({best.best['epoch']})", _typical(members, best), _epochs(members),
                   str(len(members)), f"{paper:.2f}", f"{ours - paper:+.2f}"]
        else:
            best = None
            row = [LABELS[method], "-", "-", "-", "0", f"{paper:.2f}", "-"]
        if top5:
            ours5 = best.best.get("test_error_top5") if best else None
            row += ["-" if ours5 is None else f"{ours5:.2f}", f"{table.cells[net][method][1]:.2f}"]
        rows.append(row)
    return markdown_table(head, rows)


def paper_tables(runs: Sequence[Run]) -> list[tuple[PaperTable, str, str]]:
    """(table, net, markdown) for every network of every paper table."""
    return [(table, net, paper_table(runs, table, net)) for table in tables() for net in table.cells]


def runs_table(runs: Sequence[Run], paper: bool = False) -> str:
    """A row per run; with `paper`, the paper's test error for its experiment and our gap."""
    head = ["run", "dataset", "net", "method", "batch", "epochs run", "best test err % (epoch)", "final train err %",
            "final test err %", "s/epoch"]
    if paper:
        head += ["paper test err %", "ours - paper"]
    rows = []
    for run in runs:
        last, best, config = run.rows[-1], run.best, run.config
        train = "-" if last.get("train_error") is None else f"{last['train_error']:.2f}"
        row = [run.label, config["data"]["dataset"], network_of(config).upper(), method_of(config),
               str(config["data"]["batch_size"]), str(len(run.rows)), f"{best['test_error']:.2f} ({best['epoch']})",
               train, f"{last['test_error']:.2f}", f"{run.seconds_per_epoch:.1f}"]
        if paper:
            reported = published(config)
            row += ["-", "-"] if reported is None else [f"{reported[1]:.2f}", f"{best['test_error'] - reported[1]:+.2f}"]
        rows.append(row)
    return markdown_table(head, rows)


def seed_table(runs: Sequence[Run], target: float | None = None) -> str:
    """A row per group of runs that differ only in the seed: each seed's best test error, their
    mean, sample sd and range; with `target`, how many seeds reach best <= target."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(seed_key(run.config), []).append(run)
    head = ["setting", "method", "batch", "epochs", "seeds", "best test err % by seed", "mean ± sd", "min", "max"]
    if target is not None:
        head.append(f"seeds <= {target:g}")
    rows = []
    for members in groups.values():
        members = sorted(members, key=lambda r: r.config.get("seed", 0))
        bests = [r.best["test_error"] for r in members]
        config = members[0].config
        row = [", ".join(sorted({r.label for r in members})), method_of(config), str(config["data"]["batch_size"]),
               _epochs(members), ", ".join(str(r.config.get("seed", 0)) for r in members),
               " ".join(f"{b:.2f}" for b in bests), spread(bests), f"{min(bests):.2f}", f"{max(bests):.2f}"]
        if target is not None:
            row.append(f"{sum(b <= target for b in bests)}/{len(bests)}")
        rows.append(row)
    return markdown_table(head, rows)
