"""`localnet report`: markdown tables (and figures) from run and sweep directories."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ..errors import friendly_errors


@click.command()
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--paper", is_flag=True, help="The full report: the paper's Tables 1(a), 1(b) and 2 cell by cell, "
              "learning curves, the search spread of sweeps, every run.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the markdown here (default: print).")
@click.option("--figures", type=click.Path(file_okay=False, path_type=Path),
              help="With --paper: folder for the PNGs (default: OUT's folder/img/results, or none when printing).")
@click.option("--notes", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="With --paper: a markdown file placed under the report's header.")
@click.option("--seeds", is_flag=True, help="Group runs that differ only in the seed: per-seed bests, mean ± sd, range.")
@click.option("--target", type=float, help="With --seeds: count the seeds whose best is <= TARGET.")
@click.option("--within", type=click.IntRange(min=1), help="Take each run's best over its first N epochs only.")
@friendly_errors
def report(dirs: tuple[Path, ...], paper: bool, out: Path | None, figures: Path | None, notes: Path | None,
           seeds: bool, target: float | None, within: int | None) -> None:
    """Summarise DIRS (run directories, sweep directories, or folders of them) as markdown."""
    from ..errors import LocalnetError  # noqa: PLC0415
    from .document import build  # noqa: PLC0415
    from .runs import find_runs  # noqa: PLC0415
    from .tables import runs_table, seed_table  # noqa: PLC0415

    runs = find_runs(list(dirs), within)
    if not runs:
        raise LocalnetError(f"no finished epochs under {', '.join(map(str, dirs))}: pass run or sweep directories "
                            "(each run needs a config.toml and a metrics.jsonl with rows)")
    if seeds:
        text = seed_table(runs, target)
    elif paper:
        if figures is None and out is not None:
            figures = out.parent / "img" / "results"
        command = "localnet " + shlex.join(["report", *sys.argv[2:]]) if sys.argv[1:2] == ["report"] else "localnet report"
        text = build(runs, command, figures, out, notes.read_text(encoding="utf-8") if notes else "")
    else:
        text = runs_table(runs, paper=False)
    if out is None:
        click.echo(text)
    else:
        from ..writes import make_dirs, write_text_atomic  # noqa: PLC0415

        make_dirs(out.parent, "choose a writable --out")
        write_text_atomic(out, text.rstrip() + "\n", "free some space or choose a writable --out")
        click.echo(f"wrote {out}")
