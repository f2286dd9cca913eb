"""Reproduce one of the paper's experiment grids with the shipped configs, and compare.

    python -m runners.reproduce mnist_fc --epochs 30 --jobs 2 --out runs/repro
    python -m runners.reproduce cifar_lc --rules bp,fa --epochs 5 --seeds 0,1

GRID is a config-name prefix under models/: mnist_fc, mnist_lc, cifar_fc or cifar_lc (every
rule and schedule the paper runs there, plus vanilla TP and the BP ConvNet where shipped).
Each (config, seed) becomes one `localnet run` writing OUT/CONFIG-sSEED, through the sweep
driver: finished runs are skipped and unfinished ones resume, so a stopped reproduction
continues where it was. At the end OUT/report.md holds the table of `runners.report
--paper` (our best test error next to the paper's best of 500 epochs) and the curves.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .report import curves, load_run, table
from .sweep import Job, finished, run_jobs

MODELS = Path(__file__).resolve().parents[1] / "models"
GRIDS = ("mnist_fc", "mnist_lc", "cifar_fc", "cifar_lc")


def grid_configs(grid: str, rules: list[str] | None = None, models: Path = MODELS) -> list[Path]:
    """The shipped configs of `grid`, optionally only those whose rule is in `rules`."""
    if grid not in GRIDS:
        raise SystemExit(f"error: unknown grid {grid!r}: use one of {', '.join(GRIDS)}")
    paths = sorted(models.glob(f"{grid}_*.toml"))
    rule_of = {p: p.stem.removeprefix(grid + "_").split("_")[0] for p in paths}
    if not paths:
        raise SystemExit(f"error: no {grid}_*.toml config in {models}")
    if rules:
        unknown = sorted(set(rules) - set(rule_of.values()))
        if unknown:
            raise SystemExit(f"error: --rules: no {grid} config for {', '.join(unknown)}; "
                             f"this grid has {', '.join(sorted(set(rule_of.values())))}")
        paths = [p for p in paths if rule_of[p] in rules]
    return paths


def reproduce(grid: str, out: Path, seeds: list[int], jobs: int, extra: list[str],
              rules: list[str] | None = None, models: Path = MODELS) -> str:
    """Run the grid (skipping finished runs) and return the markdown report (also in OUT/report.md)."""
    todo = [(Job(path.stem, (), seed, out / f"{path.stem}-s{seed}"), path)
            for path in grid_configs(grid, rules, models) for seed in seeds]
    run_jobs(todo, out, jobs, extra)
    done = [load_run(job.run_dir) for job, _ in todo if finished(job.run_dir)]
    missing = [job.run_dir.name for job, _ in todo if not finished(job.run_dir)]
    lines = [f"# {grid}: ours (shipped configs) vs Bartunov et al. 2018, Table 1", ""]
    lines += [table(done, paper=True), "", curves(done)] if done else ["(no finished runs)"]
    if missing:
        lines += ["", f"Not finished (see their logs in {out}): {', '.join(missing)}"]
    report = "\n".join(lines) + "\n"
    (out / "report.md").write_text(report)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", help=f"one of {', '.join(GRIDS)}")
    parser.add_argument("--out", type=Path, help="folder for the runs (default runs/repro-GRID)")
    parser.add_argument("--rules", help="comma-separated rules to run (default: every shipped config of the grid)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1), help="processes at a time")
    parser.add_argument("--epochs", type=int, help="override train.epochs for every run (default: each config's)")
    parser.add_argument("--data-dir", help="passed to every run (default: the usual resolution)")
    parser.add_argument("--threads", type=int, help="BLAS threads of every run (localnet run --threads; default 1)")
    args = parser.parse_args(argv)
    rules = [r.strip() for r in args.rules.split(",") if r.strip()] if args.rules else None
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    extra = ["--epochs", str(args.epochs)] if args.epochs is not None else []
    extra += ["--data-dir", args.data_dir] if args.data_dir else []
    extra += ["--threads", str(args.threads)] if args.threads is not None else []
    print(reproduce(args.grid, args.out or Path("runs") / f"repro-{args.grid}", seeds, args.jobs, extra, rules), end="")


if __name__ == "__main__":
    main()
