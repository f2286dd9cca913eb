"""What an epoch of each config of a grid costs on this machine, and the paper's 500 epochs.

    OPENBLAS_NUM_THREADS=1 python -m runners.drivers.epoch_times cifar_lc --examples 2000 --data-dir DATA

For each shipped config of GRID (models/GRID_*.toml) it trains two epochs on the first
`--examples` training images (every pass the config's schedule makes), each followed by the
evaluation a run makes (the train-error subset and the test set, here `--examples` images
each), and times the second epoch (the first also pays for allocating every array).
The full epoch is projected from those rates: the training passes
over the whole training set plus the clean passes over `train.eval_train_examples` training
images and the whole test set. Prints a markdown table: training and evaluation examples/s,
the projected seconds per epoch, the config's shipped epochs and the paper's 500 in hours.
The configs run one after another in this process, on the BLAS threads the environment
sets (pin one with OPENBLAS_NUM_THREADS=1, as the campaign's jobs run).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from localnet.backend import get_backend
from localnet.config import load_config
from localnet.data import get_spec
from localnet.network import build_network
from localnet.run import load_data
from localnet.train import EpochMetrics, Trainer
from runners.drivers.reproduce import GRIDS, grid_configs

PAPER_EPOCHS = 500


def measure(path: Path, examples: int, data_dir: str | None) -> dict:
    """Rates and the projected epoch of the config at `path` (see the module docstring)."""
    full = load_config(path)
    sets = [f"data.limit_train={examples}", f"data.limit_test={examples}", "train.epochs=2",
            f"train.eval_train_examples={examples}"]
    config = load_config(path, sets)
    backend = get_backend("numpy", config.dtype)
    arrays, dataset = load_data(config, data_dir)
    network = build_network(config, backend, dataset.input_shape, dataset.num_classes)
    trainer = Trainer(config, network, backend, dataset.num_classes)
    rows: list[EpochMetrics] = []
    ends: list[float] = []

    def on_epoch(row: EpochMetrics) -> None:
        rows.append(row)
        ends.append(time.perf_counter())

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        trainer.fit(arrays, 2, on_epoch=on_epoch)
    # the second epoch: the first pays for allocating every array once
    train_seconds = rows[1].seconds
    eval_seconds = max(ends[1] - ends[0] - train_seconds, 1e-9)
    spec = get_spec(config.data.dataset)
    n_train, n_test = spec.train_size, spec.test_size
    subset = n_train if full.train.eval_train_examples == "all" else min(int(full.train.eval_train_examples), n_train)
    epoch = train_seconds * n_train / examples + eval_seconds * (subset + n_test) / (2 * examples)
    return {"config": path.stem, "passes": len(network.rule.passes()), "train_rate": examples / train_seconds,
            "eval_rate": 2 * examples / eval_seconds, "epoch": epoch, "epochs": full.train.epochs}


def table(rows: list[dict]) -> str:
    lines = ["| config | passes | train images/s (all passes) | eval images/s | s / epoch | shipped epochs (h) "
             "| 500 epochs (h) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['passes']} | {r['train_rate']:,.0f} | {r['eval_rate']:,.0f} | "
                     f"{r['epoch']:,.0f} | {r['epochs']} ({r['epoch'] * r['epochs'] / 3600:,.1f}) | "
                     f"{r['epoch'] * PAPER_EPOCHS / 3600:,.0f} |")
    total = sum(r["epoch"] for r in rows)
    lines.append(f"\nAll {len(rows)} configs: {total * PAPER_EPOCHS / 3600:,.0f} hours of one core for 500 epochs each "
                 f"({total * PAPER_EPOCHS / 3600 / 24 / 2:,.1f} days on two cores); at the shipped epochs "
                 f"{sum(r['epoch'] * r['epochs'] for r in rows) / 3600:,.1f} hours of one core.")
    return "\n".join(lines) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("grid", type=click.Choice(GRIDS))
@click.option("--examples", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Training (and evaluation) images timed per config.")
@click.option("--rules", help="Comma-separated rules or configs (as localnet reproduce's).")
@click.option("--data-dir", help="Dataset folder (as localnet run's).")
@click.option("--models", type=click.Path(file_okay=False, path_type=Path), default=Path("models"), show_default=True)
def main(grid: str, examples: int, rules: str | None, data_dir: str | None, models: Path) -> None:
    """Time one short epoch of every GRID config and project a full epoch and 500 epochs."""
    rows = []
    for path in grid_configs(grid, rules.split(",") if rules else None, models):
        rows.append(measure(path, examples, data_dir))
        click.echo(f"{path.stem}: {rows[-1]['epoch']:,.0f} s per epoch", err=True)
    click.echo(table(rows), nl=False)


if __name__ == "__main__":
    main(prog_name="python -m runners.drivers.epoch_times")
