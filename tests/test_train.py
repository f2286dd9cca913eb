"""localnet.train: the train-error pass measures a fixed, seeded subset of the clean
training set (train.eval_train_examples) without changing training in any way."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import small_toml

from localnet.cli import main
from localnet.data.synthetic import write_synthetic_mnist
from localnet.train import train_error_rows


def test_the_subset_is_fixed_sorted_and_seeded():
    rows = train_error_rows(100, 10, 0)
    assert rows is not None and rows.dtype == np.int64 and len(rows) == 10
    assert np.array_equal(rows, np.unique(rows)) and rows.min() >= 0 and rows.max() < 100
    assert np.array_equal(rows, train_error_rows(100, 10, 0))
    assert not np.array_equal(rows, train_error_rows(100, 10, 1))
    assert train_error_rows(100, "all", 0) is None and train_error_rows(100, 100, 0) is None
    assert train_error_rows(100, 10**6, 0) is None


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "mnist"
    write_synthetic_mnist(root, n_train=40, n_test=16)
    return root


def _run(tmp_path, data, name, *sets):
    config = tmp_path / "c.toml"
    config.write_text(small_toml(epochs=3))
    out = tmp_path / name
    args = ["run", str(config), "--data-dir", str(data), "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(main, [*args, *[a for s in sets for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return rows, dict(np.load(out / "params.npz"))


def test_a_subset_changes_the_train_error_only(tmp_path, data):
    full, params_full = _run(tmp_path, data, "all", 'train.eval_train_examples="all"')
    part, params_part = _run(tmp_path, data, "part", "train.eval_train_examples=5")
    assert params_full.keys() == params_part.keys()
    for key in params_full:
        assert np.array_equal(params_full[key], params_part[key]), key
    for a, b in zip(full, part, strict=True):
        assert (a["test_error"], a["test_loss"], a["train_loss"]) == (b["test_error"], b["test_loss"], b["train_loss"])
        assert b["train_error"] * 5 / 100 == pytest.approx(round(b["train_error"] * 5 / 100))  # k of 5 examples
        assert a["train_error"] * 40 / 100 == pytest.approx(round(a["train_error"] * 40 / 100))  # k of 40


@pytest.mark.parametrize("value", ["0", "-3", '"some"', "2.5", "true"])
def test_a_bad_subset_size_is_one_line(tmp_path, data, value):
    config = tmp_path / "c.toml"
    config.write_text(small_toml())
    result = CliRunner().invoke(main, ["validate", str(config), "--set", f"train.eval_train_examples={value}"])
    assert result.exit_code == 2
    assert "eval_train_examples must be an integer >= 1 or \"all\"" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_standardize_refuses_training_pixels_without_spread():
    """Constant training images would divide by a zero std: one line naming the fix instead."""
    from helpers import tiny_config

    from localnet.backend import get_backend
    from localnet.errors import DataError
    from localnet.network import build_network
    from localnet.train import Trainer

    config = tiny_config("bp", [4], 3, data={"normalize": "standardize"})
    backend = get_backend()
    trainer = Trainer(config, build_network(config, backend, (2,), 3), backend, 3)
    with pytest.raises(DataError, match=r'all 10 are 7: check the dataset, or set data.normalize = "unit"'):
        trainer.standardize_from(np.full((5, 2), 7, np.uint8))
    trainer.standardize_from(np.arange(10, dtype=np.uint8).reshape(5, 2))  # pixels that vary are fine
