"""Summarise finished runs as a markdown table (for docs/results.md).

    python -m runners.report runs/mnist_fc_bp-b32 runs/mnist_fc_fa-b32 ... [--curves] [--paper]

Every number comes from the run directories' metrics.jsonl and config.toml; --curves
adds each run's test-error curve (one value per epoch); --paper adds the paper's Table 1
test error for the same experiment (best of 500 epochs; runners/paper.py) and our best
minus it.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from .paper import published


def load_run(path: Path) -> dict:
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()]
    config = tomllib.loads((path / "config.toml").read_text())
    best = min(rows, key=lambda r: r["test_error"]) if rows else None
    return {"path": path, "config": config, "rows": rows, "best": best}


def table(runs: list[dict], paper: bool = False) -> str:
    """A markdown row per run; with `paper`, two more columns: the paper's test error for the
    experiment and our best minus it (percentage points; "-" where the paper has none)."""
    lines = ["| run | rule | schedule | batch | epochs run | best test err % (epoch) | final train err % | final test err % | s/epoch |",
             "|---|---|---|---|---|---|---|---|---|"]
    if paper:
        lines = [lines[0] + " paper test err % (best of 500) | ours - paper |", lines[1] + "---|---|"]
    for run in runs:
        rows, best, config = run["rows"], run["best"], run["config"]
        last = rows[-1]
        seconds = sum(r["seconds"] for r in rows) / len(rows)
        train = "-" if last["train_error"] is None else f"{last['train_error']:.2f}"
        lines.append(
            f"| {run['path'].name} | {config['rule']['name']} | {config['rule'].get('schedule', '-')} | "
            f"{config['data']['batch_size']} | {len(rows)} | {best['test_error']:.2f} ({best['epoch']}) | {train} | "
            f"{last['test_error']:.2f} | {seconds:.1f} |")
        if paper:
            reported = published(config)
            lines[-1] += (" - | - |" if reported is None else
                          f" {reported[1]:.2f} | {best['test_error'] - reported[1]:+.2f} |")
    return "\n".join(lines)


def curves(runs: list[dict]) -> str:
    out = []
    for run in runs:
        values = " ".join(f"{r['test_error']:.2f}" for r in run["rows"])
        out.append(f"- {run['path'].name} test error by epoch: {values}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--curves", action="store_true", help="add each run's test error by epoch")
    parser.add_argument("--paper", action="store_true", help="add the paper's Table 1 test error and our gap to it")
    args = parser.parse_args()
    runs = [load_run(p) for p in args.runs if (p / "metrics.jsonl").is_file()]
    print(table(runs, paper=args.paper))
    if args.curves:
        print()
        print(curves(runs))


if __name__ == "__main__":
    main()
