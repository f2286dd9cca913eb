"""The `localnet inspect` and `localnet plot` commands (registered by localnet/cli.py with
`main.add_command`). Errors follow the CLI's style: one `error: ...` line, exit 2 for usage
mistakes (an unknown layer, probe or step), 1 for a missing run or store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import friendly_errors

run_dir_argument = click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))

_RECORD_OPTIONS = (
    click.option("--record/--no-record", "record", default=None,
                 help="Record per-layer probes into RUN_DIR/record.zarr (default: the config's record.enabled)."),
    click.option("--record-every", type=click.IntRange(min=1), metavar="N",
                 help="Record every N-th training step (record.every, default 10)."),
    click.option("--record-angle", is_flag=True, default=False,
                 help="Also record the angle between each layer's update and the BP gradient (costs time)."),
)


def record_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --record/--no-record, --record-every and --record-angle to a command (`localnet run`);
    turn them into --set overrides with `record_overrides`."""
    for option in reversed(_RECORD_OPTIONS):
        command = option(command)
    return command


def record_overrides(record: bool | None, every: int | None, angle: bool) -> list[str]:
    """The [record] overrides (KEY=VALUE, as --set takes them) for those options."""
    overrides = []
    if record is not None:
        overrides.append(f"record.enabled={'true' if record else 'false'}")
    if every is not None:
        overrides.append(f"record.every={every}")
    if angle:
        overrides.append("record.angle=true")
    return overrides


@click.command()
@run_dir_argument
@click.option("--layer", "layers", multiple=True, metavar="NAME", help="Only this layer, e.g. layer3 (repeatable).")
@click.option("--probe", "probes", multiple=True, metavar="NAME",
              help="Only this probe, e.g. forward, angle, act_mean (repeatable).")
@click.option("--step", type=click.IntRange(min=0), help="Only this training step (one of the recorded ones).")
@click.option("--values", is_flag=True, help="Also print the selected values (narrow with --layer/--probe/--step).")
@friendly_errors
def inspect(run_dir: Path, layers: tuple[str, ...], probes: tuple[str, ...], step: int | None, values: bool) -> None:
    """Show what RUN_DIR recorded: a table of layers x probes with shapes, steps and statistics.

    RUN_DIR is a run directory with a record.zarr (from `localnet run CONFIG --record`);
    the store may belong to a run still going (rows up to its last flush are shown).
    """
    from .inspect import inspect_run  # noqa: PLC0415

    inspect_run(run_dir, layers, probes, step, values, echo=click.echo)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the PNGs (default: RUN_DIR/plots for one run, ./plots for several).")
@friendly_errors
def plot(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Write PNGs for RUN_DIRS: error curves, the TP diagnostics per layer (inverse
    reconstruction error, target gap), activation quantiles, update and weight norms and
    the update-vs-BP angle; several runs are overlaid (e.g. BP vs FA vs SDTP). Per-step
    series are drawn against the epoch, with an alternating schedule's passes shaded.
    """
    from .plot import plot_runs  # noqa: PLC0415

    for path in plot_runs(run_dirs, out, echo=click.echo):
        click.echo(f"wrote {path}")
