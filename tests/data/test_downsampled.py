"""imagenet32 / imagenet64: the npz batches of Chrabaszcz et al. (2017), read directly."""

from __future__ import annotations

import numpy as np
import pytest

from localnet.data import DATASETS, fetch_dataset, load_dataset, verify_dataset
from localnet.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_env")  # tests/data/conftest.py


def write_npz_release(directory, side: int, per_batch: int = 3, seed: int = 0):
    """The release's files with `per_batch` images each: planes per row, labels 1-based,
    plus the train batches' `mean` array as in the real files. Returns the images
    (channel-last) and labels (1-based) written, train then val."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    names = [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]
    for name in names:
        images = rng.integers(0, 256, (per_batch, side, side, 3), dtype=np.uint8)
        labels = rng.integers(1, 1001, per_batch)
        rows = images.transpose(0, 3, 1, 2).reshape(per_batch, -1)  # R plane, G plane, B plane
        extra = {"mean": rows.mean(axis=0)} if name.startswith("train") else {}
        np.savez(directory / f"{name}.npz", data=rows, labels=labels.tolist(), **extra)
        written.append((images, labels))
    return written


@pytest.mark.parametrize("side", [32, 64])
def test_reads_planes_channel_last_and_zero_based_labels(tmp_path, side):
    written = write_npz_release(tmp_path, side)
    ds = load_dataset(f"imagenet{side}", tmp_path)
    assert ds.num_classes == 1000 and ds.input_shape == (side, side, 3)
    np.testing.assert_array_equal(ds.x_train, np.concatenate([w[0] for w in written[:10]]))
    np.testing.assert_array_equal(ds.y_train, np.concatenate([w[1] for w in written[:10]]) - 1)
    np.testing.assert_array_equal(ds.x_test, written[10][0])
    np.testing.assert_array_equal(ds.y_test, written[10][1] - 1)
    assert all(r.ok for r in verify_dataset(f"imagenet{side}", tmp_path))


def test_registry_sizes():
    spec = DATASETS["imagenet32"]
    assert (spec.train_size, spec.test_size, spec.num_classes) == (1_281_167, 50_000, 1000)


def test_wrong_resolution_and_labels_are_named(tmp_path):
    write_npz_release(tmp_path, 32)
    with pytest.raises(DataError, match=r"Imagenet64x64 file .*train_data_batch_1.npz holds data uint8 \(3, 3072\)"):
        load_dataset("imagenet64", tmp_path)
    np.savez(tmp_path / "val_data.npz", data=np.zeros((2, 3072), np.uint8), labels=[0, 5])
    with pytest.raises(DataError, match="labels 0..5, expected 1..1000"):
        load_dataset("imagenet32", tmp_path)


def test_missing_file_and_fetch_say_where_to_get_it(tmp_path):
    write_npz_release(tmp_path, 32)
    (tmp_path / "train_data_batch_7.npz").unlink()
    with pytest.raises(DataError, match="train_data_batch_7.npz is missing: download Imagenet32_train_npz.zip"):
        load_dataset("imagenet32", tmp_path)
    with pytest.raises(DataError, match="has no download: download Imagenet32_train_npz.zip"):
        fetch_dataset("imagenet32", tmp_path / "x")
