"""`localnet sweep`: a random search over a space, or a grid of variants and seeds."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError, friendly_errors


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--space", "space_path", type=click.Path(dir_okay=False),
              help="Random search: a space TOML (e.g. models/spaces/paper_table4_sdtp.toml).")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random search: how many trials to sample.")
@click.option("--variant", "variants", multiple=True, metavar='"NAME: k=v, ..."',
              help="Grid mode: a named set of --set overrides (repeatable).")
@click.option("--seeds", help="Grid mode: seeds, comma-separated (default 0).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override the base config (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs every surviving trial trains (default: the config's).")
@click.option("--keep", type=click.IntRange(min=1), help="Early kill: the best KEEP trials continue after --after epochs.")
@click.option("--after", type=click.IntRange(min=1), help="Early kill: epochs before the cut (with --keep or --eta).")
@click.option("--eta", type=click.IntRange(min=2), help="Successive halving: keep 1/ETA of the trials after --after, "
              "--after*ETA, ... epochs.")
@click.option("--runner", default="local", show_default=True, help="Execution backend: local or ray.")
@click.option("--address", help="Ray: the cluster to join ('auto' for the one this node is in).")
@click.option("--jobs", type=click.IntRange(min=1), help="Local runner: trials at a time (default: one per core).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="BLAS threads per trial (= the CPUs Ray reserves for it).")
@click.option("--seed", type=int, default=0, show_default=True, help="Sweep seed: trial i's values come from (seed, i).")
@click.option("--data-dir", help="Passed to every trial.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Sweep directory (rerun with the same arguments to resume it).")
@friendly_errors
def sweep(config: str, space_path: str | None, trials: int, variants: tuple[str, ...], seeds: str | None,
          sets: tuple[str, ...], epochs: int | None, keep: int | None, after: int | None, eta: int | None,
          runner: str, address: str | None, jobs: int | None, threads: int, seed: int, data_dir: str | None,
          out: Path) -> None:
    """Run CONFIG as many trials: a random search (--space, --trials) or a grid (--variant, --seeds).

    Every trial is an ordinary run directory under OUT/runs/; OUT/trials.csv lists each
    trial's values, status and best and final test errors. A killed sweep, rerun with the
    same arguments, keeps finished trials and resumes the others from their checkpoints.
    """
    from .setup import start_sweep  # noqa: PLC0415 - keeps `localnet --help` fast

    if space_path and (variants or seeds):
        raise ConfigError("--space (random search) and --variant/--seeds (grid) exclude each other: choose one")
    start_sweep(config, space_path, trials, variants, seeds, sets, epochs, keep, after, eta, runner, address, jobs,
                threads, seed, data_dir, out, click.echo)
