"""Shared pieces of the sweep tests: a tiny FA config on the shipped MNIST, a space, the
sweep's command line and its trials table. Imported as `sweep.sweep_helpers`."""

from __future__ import annotations

import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
name = "tiny"
seed = 0
[data]
dataset = "mnist"
batch_size = 50
limit_train = 300
limit_test = 200
[[layers]]
type = "dense"
units = 32
[[layers]]
type = "softmax"
units = 10
[rule]
name = "fa"
[optim]
lr = 1e-3
[train]
epochs = 2
checkpoint_every = 2
"""
SPACE = """
"optim.lr" = {loguniform = [1e-4, 3e-2]}
"optim.eps" = {choice = [1e-4, 1e-8]}
"""


def write_files(tmp_path: Path) -> Path:
    (tmp_path / "tiny.toml").write_text(CONFIG)
    (tmp_path / "space.toml").write_text(SPACE)
    return tmp_path


def sweep_args(files: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(files / "tiny.toml"), "--space", str(files / "space.toml"), "--trials", "6",
            "--data-dir", str(REPO / "data" / "mnist"), "--out", str(out), *extra]


def table(out: Path) -> list[dict[str, str]]:
    with (out / "trials.csv").open() as handle:
        return [{k: v for k, v in row.items() if k != "run_dir"} for row in csv.DictReader(handle)]

