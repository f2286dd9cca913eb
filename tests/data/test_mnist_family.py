"""Fashion-MNIST, KMNIST and the generic `idx` dataset: per-dataset checksums, messages
that name the dataset loaded, and training on them (synthetic files, no network)."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from localnet.data import DATASETS, load_dataset, verify_dataset, write_idx
from localnet.data.mnist_format import LAYOUT
from localnet.data.synthetic import write_synthetic_mnist
from localnet.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_env")  # tests/data/conftest.py


def write_official_size(directory, gz: bool, seed: int = 0) -> dict:
    """MNIST-format files with the official counts (60,000 + 10,000 images, so the
    uncompressed files have MNIST's exact byte sizes), random pixels."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = {}
    for role, name, n in LAYOUT:
        array = rng.integers(0, 256, (n, 28, 28), np.uint8) if role.startswith("x_") else (np.arange(n) % 10).astype(np.uint8)
        paths[role] = write_idx(directory / (name + (".gz" if gz else "")), array)
    return paths


def test_registry_holds_names_sizes_and_classes_once():
    for name in ("fashion_mnist", "kmnist"):
        spec = DATASETS[name]
        assert spec.num_classes == 10 and spec.input_shape == (28, 28, 1)
        assert (spec.train_size, spec.test_size) == (60_000, 10_000)
        # uncompressed sizes equal MNIST's: that is why the checksum check is per dataset
        assert [f.size for f in spec.files] == [f.size for f in DATASETS["mnist"].files]
        assert all(f.gz_md5 and f.md5 is None for f in spec.files)  # only .gz MD5s are published
    assert DATASETS["fashion_mnist"].file("x_train").gz_md5 == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert DATASETS["kmnist"].file("y_test").gz_md5 == "7320c461ea6c1c855c0b718fb2a4b134"


def test_uncompressed_official_size_fashion_loads_but_is_not_mnist(tmp_path):
    paths = write_official_size(tmp_path / "f", gz=False)
    assert paths["x_train"].stat().st_size == DATASETS["mnist"].file("x_train").size
    ds = load_dataset("fashion_mnist", tmp_path / "f")
    assert ds.name == "fashion_mnist" and ds.x_train.shape == (60_000, 28, 28, 1)
    with pytest.raises(DataError) as err:  # the same bytes are not the official MNIST
        load_dataset("mnist", tmp_path / "f")
    assert "MNIST file" in str(err.value) and "fashion_mnist" in str(err.value)
    reports = verify_dataset("fashion_mnist", tmp_path / "f")
    assert all(r.ok and "no official MD5" in r.detail for r in reports)


@pytest.mark.parametrize("name", ["fashion_mnist", "kmnist"])
def test_wrong_gz_checksum_is_caught(tmp_path, monkeypatch, name):
    paths = write_synthetic_mnist(tmp_path, n_train=20, n_test=10, gz=True, spec=DATASETS[name])
    spec = DATASETS[name]
    # Give the registry these files' sizes (and, for all but one file, their MD5s).
    files = []
    for f in spec.files:
        data = paths[f.role].read_bytes()
        md5 = hashlib.md5(data).hexdigest() if f.role != "y_test" else "0" * 32
        files.append(dataclasses.replace(f, gz_md5=md5, gz_size=len(data)))
    monkeypatch.setitem(DATASETS, name, dataclasses.replace(spec, files=tuple(files)))
    with pytest.raises(DataError) as err:
        load_dataset(name, tmp_path)
    message = str(err.value)
    assert f"{spec.title} file {paths['y_test']}" in message and "official MD5" in message
    assert "MNIST" not in message.replace(spec.title, "")
    bad = [r for r in verify_dataset(name, tmp_path) if not r.ok]
    assert [r.path for r in bad] == [paths["y_test"]] and bad[0].status == "md5-mismatch"


@pytest.mark.parametrize("name, title", [("fashion_mnist", "Fashion-MNIST"), ("kmnist", "KMNIST"), ("idx", "IDX")])
def test_messages_name_the_dataset(tmp_path, name, title):
    paths = write_synthetic_mnist(tmp_path, spec=DATASETS[name])
    path = paths["x_train"]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError) as err:
        load_dataset(name, tmp_path)
    assert str(err.value).startswith(f"{title} file {path}")
    assert "MNIST" not in str(err.value).replace(title, "")  # no other dataset is named


@pytest.mark.parametrize("gz", [True, False])
def test_idx_takes_shape_and_classes_from_files(tmp_path, gz):
    rng = np.random.default_rng(1)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (30, 12, 9, 3), np.uint8))
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", (np.arange(30) % 4).astype(np.uint8))
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (6, 12, 9, 3), np.uint8))
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.array([0, 1, 2, 3, 4, 0], np.uint8))
    ds = load_dataset("idx", tmp_path)
    assert ds.input_shape == (12, 9, 3) and ds.num_classes == 5 and len(ds.x_train) == 30
    assert all(r.ok for r in verify_dataset("idx", tmp_path))


def test_idx_shapes_must_agree(tmp_path):
    write_synthetic_mnist(tmp_path, spec=DATASETS["idx"])
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 20, 20), np.uint8))
    with pytest.raises(DataError, match="IDX image files disagree"):
        load_dataset("idx", tmp_path)


def test_fetch_idx_says_how_to_get_files(tmp_path):
    from localnet.data import fetch_dataset

    with pytest.raises(DataError, match="has no download: put your own four IDX files"):
        fetch_dataset("idx", tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_mnist_gz_of_another_dataset_is_named(tmp_path):
    # A gz file of MNIST's official size but another content names the datasets sharing its name.
    paths = write_synthetic_mnist(tmp_path, gz=True)
    path = paths["y_test"]
    data = path.read_bytes()
    want = DATASETS["mnist"].file("y_test").gz_size
    path.write_bytes(data + b"\0" * (want - len(data)))  # trailing gzip padding: still parses
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "fashion_mnist or kmnist or idx" in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("gz", [True, False])
def test_run_trains_on_fashion_mnist(tmp_path, gz):
    write_official_size(tmp_path / "fashion", gz=gz)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "localnet.cli", "run", "models/mnist_fc_bp.toml", "--set", 'data.dataset="fashion_mnist"',
           "--set", "data.limit_train=600", "--set", "data.limit_test=200", "--epochs", "1",
           "--data-dir", str(tmp_path / "fashion"), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (out / "summary.json").is_file() and "fashion_mnist" in (out / "config.toml").read_text()
