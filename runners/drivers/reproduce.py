"""Reproduce one of the paper's experiment grids with the shipped configs, and compare.

    localnet reproduce mnist_fc --epochs 30 --jobs 2 --out runs/repro
    localnet reproduce cifar_lc --rules bp,fa --epochs 5 --seeds 0,1 --runner ray

(`localnet reproduce` is this module, found through the `localnet.commands` entry point;
`python -m runners.drivers.reproduce` is the same.)

GRID is a config-name prefix under models/: mnist_fc, mnist_lc, cifar_fc, cifar_lc or
imagenet_lc (every rule and schedule the paper runs there, plus what localnet adds). Each
(config, seed) is one trial, OUT/CONFIG-sSEED, run by a sweep execution backend (`local` by
default, or `ray`): finished runs are skipped and unfinished ones resume from their
checkpoints, so a stopped reproduction continues where it was. `--archive docs/runs` copies
each run's text files into that archive the moment it finishes (so a lost machine loses no
finished run; commit the archive as it grows). At the end OUT/report.md holds
`localnet report OUT --paper`: our best next to the paper's, cell by cell.

Run it niced on a shared machine (children inherit it), e.g.
`nice -n 19 localnet reproduce cifar_fc --jobs 2 --threads 1 --archive docs/runs`.
"""

from __future__ import annotations

from pathlib import Path

import click

from localnet.errors import ConfigError
from localnet.report.document import build
from localnet.report.runs import find_runs
from localnet.sweep.runner import TrialJob, find_runner
from localnet.sweep.trials import read_metrics

MODELS = Path("models")
GRIDS = ("mnist_fc", "mnist_lc", "cifar_fc", "cifar_lc", "imagenet_lc")


def grid_configs(grid: str, rules: list[str] | None = None, models: Path = MODELS) -> list[Path]:
    """The shipped configs of `grid`, optionally only those whose rule (e.g. dtp) or variant
    (the name after the grid, e.g. dtp_parallel) is in `rules`."""
    if grid not in GRIDS:
        raise ConfigError(f"unknown grid {grid!r}: use one of {', '.join(GRIDS)}")
    paths = sorted(models.glob(f"{grid}_*.toml"))
    if not paths:
        raise ConfigError(f"no {grid}_*.toml config in {models}: run from the repository root or pass --models")
    variant_of = {p: p.stem.removeprefix(grid + "_") for p in paths}
    rule_of = {p: variant.split("_")[0] for p, variant in variant_of.items()}
    if rules:
        unknown = sorted(set(rules) - set(rule_of.values()) - set(variant_of.values()))
        if unknown:
            raise ConfigError(f"--rules: no {grid} config for {', '.join(unknown)}; "
                              f"this grid has {', '.join(sorted(set(rule_of.values())))} "
                              f"(or one config: {', '.join(sorted(variant_of.values()))})")
        paths = [p for p in paths if rule_of[p] in rules or variant_of[p] in rules]
    return paths


def reproduce(grid: str, out: Path, seeds: list[int], epochs: int | None, runner: str = "local", jobs: int | None = None,
              threads: int = 1, data_dir: str | None = None, rules: list[str] | None = None,
              models: Path = MODELS, echo=click.echo, archive_to: Path | None = None) -> str:
    """Run the grid (skipping finished runs) and return the markdown report (also OUT/report.md).
    archive_to: copy each finished run's text files there as it finishes."""
    from localnet.config import load_config  # noqa: PLC0415

    from .archive import archive  # noqa: PLC0415

    todo = []
    for path in grid_configs(grid, rules, models):
        length = epochs or load_config(path).train.epochs
        for seed in seeds:
            job = TrialJob(f"{path.stem}-s{seed}", out / f"{path.stem}-s{seed}", path, (), seed, length, threads,
                           data_dir=data_dir)
            if len(read_metrics(job.run_dir)) < length or not (job.run_dir / "summary.json").is_file():
                todo.append(job)
    failed: list[str] = []
    finished: list[str] = []

    def done(job: TrialJob, code: int) -> None:
        finished.append(job.name)
        where = ""
        if code == 0 and archive_to is not None:
            where = f", archived in {archive(job.run_dir, archive_to)}"
        state = "done" if code == 0 else f"FAILED (exit {code}, see {job.run_dir}.log)"
        echo(f"[{len(finished)}/{len(todo)}] {state}: {job.name}{where}")
        if code:
            failed.append(job.name)

    if todo:
        echo(f"{len(todo)} run(s) to train, runner {runner}: {', '.join(job.name for job in todo)}")
        find_runner(runner, jobs=jobs).run(todo, done)
    runs = find_runs([out]) if out.is_dir() else []
    report = build(runs, f"localnet reproduce {grid}") if runs else "(no finished runs)\n"
    if failed:
        report += f"\nFailed (see their logs in {out}): {', '.join(failed)}\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report, encoding="utf-8")
    return report


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("grid", type=click.Choice(GRIDS))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for the runs (default runs/repro-GRID).")
@click.option("--rules", help="Comma-separated rules (dtp) or configs (dtp_parallel) to run "
                                  "(default: every shipped config of the grid).")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds.")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs of every run (default: each config's).")
@click.option("--runner", default="local", show_default=True, help="Execution backend: local or ray.")
@click.option("--jobs", type=click.IntRange(min=1), help="Local runner: runs at a time (default: one per core).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="BLAS threads of every run.")
@click.option("--data-dir", help="Passed to every run.")
@click.option("--models", type=click.Path(file_okay=False, path_type=Path), default=MODELS, show_default=True,
              help="Folder of the shipped configs.")
@click.option("--archive", "archive_to", type=click.Path(file_okay=False, path_type=Path),
              help="Copy each finished run's text files into this archive as it finishes (e.g. docs/runs).")
def main(grid: str, out: Path | None, rules: str | None, seeds: str, epochs: int | None, runner: str,
         jobs: int | None, threads: int, data_dir: str | None, models: Path, archive_to: Path | None) -> None:
    """Run every shipped config of GRID and report it against the paper's tables."""
    from localnet.errors import friendly_errors  # noqa: PLC0415
    from localnet.sweep.grid import parse_seeds  # noqa: PLC0415

    def body() -> None:
        chosen = [r.strip() for r in rules.split(",") if r.strip()] if rules else None
        click.echo(reproduce(grid, out or Path("runs") / f"repro-{grid}", parse_seeds(seeds), epochs, runner, jobs,
                             threads, data_dir, chosen, models, archive_to=archive_to), nl=False)

    friendly_errors(body)()


if __name__ == "__main__":
    main(prog_name="python -m runners.drivers.reproduce")
