"""Summarise finished runs as a markdown table (for docs/results.md).

    python -m runners.report runs/mnist_fc_bp-b32 runs/mnist_fc_fa-b32 ... [--curves] [--paper]
    python -m runners.report runs/sweep_bp/* --seeds [--within 30] [--target 1.8]

Every number comes from the run directories' metrics.jsonl and config.toml; --curves
adds each run's test-error curve (one value per epoch); --paper adds the paper's Table 1
test error for the same experiment (best of 500 epochs; runners/paper.py) and our best
minus it. --seeds groups runs whose resolved configs differ only in the seed and gives
each group's best test errors, their mean, standard deviation and range (and, with
--target, how many seeds reach it); --within N takes "best" over the first N epochs only.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tomllib
from pathlib import Path

from .paper import published


def load_run(path: Path, within: int | None = None) -> dict:
    """A run directory's metrics and resolved config; "best" is the lowest test error over
    all its epochs, or over the first `within` epochs."""
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if within is not None:
        rows = rows[:within]
    config = tomllib.loads((path / "config.toml").read_text())
    best = min(rows, key=lambda r: r["test_error"]) if rows else None
    return {"path": path, "config": config, "rows": rows, "best": best}


def seed_key(config: dict) -> str:
    """What identifies a run's setting apart from its seed: the resolved config, seed removed."""
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)


def seed_groups(runs: list[dict], target: float | None = None) -> str:
    """A markdown row per group of runs that differ only in the seed (first-seen order): the
    seeds, each seed's best test error, their mean, sample standard deviation and range, and
    with `target` how many seeds reach best <= target. Labels drop a trailing "-s<seed>"."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(seed_key(run["config"]), []).append(run)
    head = "| setting | rule | batch | epochs | seeds | best test err % by seed | mean | sd | min | max |"
    rule = "|---|---|---|---|---|---|---|---|---|---|"
    if target is not None:
        head, rule = head + f" seeds <= {target:g} |", rule + "---|"
    lines = [head, rule]
    for members in groups.values():
        members = sorted(members, key=lambda r: r["config"].get("seed", 0))
        bests = [r["best"]["test_error"] for r in members]
        mean = statistics.fmean(bests)
        sd = f"{statistics.stdev(bests):.2f}" if len(bests) > 1 else "-"
        labels = sorted({re.sub(r"-s\d+$", "", r["path"].name) for r in members})
        config, epochs = members[0]["config"], sorted({len(r["rows"]) for r in members})
        lines.append(
            f"| {', '.join(labels)} | {config['rule']['name']} | {config['data']['batch_size']} | "
            f"{'/'.join(map(str, epochs))} | {', '.join(str(r['config'].get('seed', 0)) for r in members)} | "
            f"{' '.join(f'{b:.2f}' for b in bests)} | {mean:.2f} | {sd} | {min(bests):.2f} | {max(bests):.2f} |")
        if target is not None:
            lines[-1] += f" {sum(b <= target for b in bests)}/{len(bests)} |"
    return "\n".join(lines)


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
    parser.add_argument("--seeds", action="store_true",
                        help="group runs that differ only in the seed: per-seed bests, mean, sd, range")
    parser.add_argument("--within", type=int, metavar="N", help="best test error over the first N epochs only")
    parser.add_argument("--target", type=float, help="with --seeds: count the seeds whose best is <= this")
    args = parser.parse_args()
    if args.within is not None and args.within < 1:
        parser.error(f"--within must be >= 1 epoch, got {args.within}")
    runs = [load_run(p, args.within) for p in args.runs if (p / "metrics.jsonl").is_file()]
    runs = [r for r in runs if r["rows"]]
    if not runs:
        parser.error("no finished epochs in the given run directories (each needs a metrics.jsonl with rows)")
    if args.seeds:
        print(seed_groups(runs, args.target))
        return
    print(table(runs, paper=args.paper))
    if args.curves:
        print()
        print(curves(runs))


if __name__ == "__main__":
    main()
