"""How well the train-error subset tracks the full training set: one run, both measured.

    python -m runners.drivers.train_error_check models/cifar_fc_bp.toml --epochs 10 [--examples 10000]

Trains CONFIG (its seed, numpy, one BLAS thread unless the config says otherwise) and after
each epoch evaluates the clean training set twice, on the subset `train.eval_train_examples`
would use and on all of it, and prints a markdown table of both and their difference. The
run's own metrics are not written anywhere; this is a measurement of the estimate.
"""

from __future__ import annotations

import math
from pathlib import Path

import click
import numpy as np

from localnet.backend import get_backend
from localnet.config import load_config
from localnet.network import build_network
from localnet.run import load_data
from localnet.threads import limit_threads
from localnet.train import EpochMetrics, Trainer


def check(config_path: Path, epochs: int, examples: int,
          data_dir: str | None = None) -> tuple[list[tuple[int, float, float]], int]:
    """([(epoch, subset train error %, full train error %)], training examples) of CONFIG
    trained `epochs` epochs."""
    config = load_config(config_path, [f"train.epochs={epochs}", f"train.eval_train_examples={examples}"])
    backend = get_backend("numpy", config.dtype)
    arrays, dataset = load_data(config, data_dir)
    network = build_network(config, backend, dataset.input_shape, dataset.num_classes)
    trainer = Trainer(config, network, backend, dataset.num_classes)
    x_train, y_train = arrays[0], arrays[1]
    rows: list[tuple[int, float, float]] = []

    def on_epoch(row: EpochMetrics) -> None:
        full = trainer.evaluate(x_train, y_train)[1]  # after the epoch's own (subset) pass; no learning
        rows.append((row.epoch, row.train_error, full))
        click.echo(f"epoch {row.epoch}: subset {row.train_error:.2f} %, full {full:.2f} %", err=True)

    with limit_threads(config.threads), np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        trainer.fit(arrays, epochs, on_epoch=on_epoch)
    return rows, len(x_train)


def table(rows: list[tuple[int, float, float]], examples: int, n: int) -> str:
    lines = [f"| epoch | train error %, {examples:,} images | train error %, all {n:,} | difference (points) |",
             "|---|---|---|---|"]
    lines += [f"| {e} | {s:.2f} | {f:.2f} | {s - f:+.2f} |" for e, s, f in rows]
    worst = max(abs(s - f) for _, s, f in rows)
    p = rows[-1][2] / 100
    se = 100 * math.sqrt(p * (1 - p) / examples * (1 - examples / n))  # without replacement
    lines.append(f"\nLargest difference {worst:.2f} points; the binomial standard error at the last epoch's "
                 f"error is {se:.2f} points.")
    return "\n".join(lines) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--examples", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Subset size (train.eval_train_examples).")
@click.option("--data-dir", help="Dataset folder (as localnet run's).")
def main(config: Path, epochs: int, examples: int, data_dir: str | None) -> None:
    """Train CONFIG and compare the subset's train error with the full set's, epoch by epoch."""
    rows, n = check(config, epochs, examples, data_dir)
    click.echo(table(rows, examples, n), nl=False)


if __name__ == "__main__":
    main(prog_name="python -m runners.drivers.train_error_check")
