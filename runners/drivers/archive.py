"""Copy the small, text files of finished runs and sweeps into a results archive (docs/runs/),
from which `localnet report` builds docs/results.md.

    python -m runners.drivers.archive RUN_OR_SWEEP_DIR... [--to docs/runs]

A run keeps config.toml (its resolved config, runnable as is), metrics.jsonl and
summary.json; a sweep keeps config.toml, space.toml, sweep.json, trials.csv and its trials'
runs the same way. Parameters, checkpoints and message logs stay where they are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json")
SWEEP_FILES = ("config.toml", "space.toml", "sweep.json", "trials.csv", "report.md")


def _copy(src: Path, dst: Path, names: tuple[str, ...]) -> int:
    dst.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name in names:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
            copied += 1
    return copied


def archive(path: Path, to: Path) -> Path:
    """Copy one run or sweep directory's text files to TO/<its name>; returns the copy."""
    dst = to / path.name
    if (path / "trials.csv").is_file():
        _copy(path, dst, SWEEP_FILES)
        for run in sorted(p for p in (path / "runs").iterdir() if p.is_dir()):
            _copy(run, dst / "runs" / run.name, RUN_FILES)
    elif (path / "metrics.jsonl").is_file():
        _copy(path, dst, RUN_FILES)
    else:
        raise click.ClickException(f"{path} is neither a run directory (metrics.jsonl) nor a sweep (trials.csv)")
    return dst


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/runs"), show_default=True)
def main(dirs: tuple[Path, ...], to: Path) -> None:
    """Copy the text files of run and sweep DIRS into the results archive."""
    for path in dirs:
        click.echo(f"{path} -> {archive(path, to)}")


if __name__ == "__main__":
    main(prog_name="python -m runners.drivers.archive")
