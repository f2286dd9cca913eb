"""MNIST loading, data-dir resolution and verification, on tiny synthetic files."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line

import localnet.data.paths as paths_module
import localnet.errors
from localnet.data import DATASETS, Dataset, default_fetch_dir, load_dataset, resolve_data_dir, verify_dataset, write_idx
from localnet.data.synthetic import write_synthetic_mnist
from localnet.errors import DataError

SHIPPED_DATA_DIR = paths_module.shipped_data_dir  # the original; the fixture patches it


pytestmark = pytest.mark.usefixtures("isolated_env")  # tests/data/conftest.py


def official_md5s_of(monkeypatch, paths) -> None:
    """Make the registry's MNIST checksums and sizes those of the synthetic files in `paths`."""
    spec = DATASETS["mnist"]
    files = []
    for fspec in spec.files:
        data = paths[fspec.role].read_bytes()
        raw = gzip.decompress(data) if paths[fspec.role].name.endswith(".gz") else data
        gz = gzip.compress(raw, mtime=0)  # what write_idx writes for a .gz name
        md5s = {"md5": hashlib.md5(raw).hexdigest(), "gz_md5": hashlib.md5(gz).hexdigest()}
        sizes = {"size": len(raw), "gz_size": len(gz)}
        files.append(dataclasses.replace(fspec, **md5s, **sizes))
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(spec, files=tuple(files)))


# --- load_dataset -------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_load_synthetic(tmp_path, gz):
    write_synthetic_mnist(tmp_path, n_train=20, n_test=10, gz=gz)
    ds = load_dataset("mnist", tmp_path)
    assert isinstance(ds, Dataset)
    assert ds.name == "mnist" and ds.num_classes == 10
    assert ds.x_train.shape == (20, 28, 28, 1) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10, 28, 28, 1) and ds.x_test.dtype == np.uint8
    assert ds.y_train.shape == (20,) and ds.y_train.dtype == np.int64
    assert ds.y_test.tolist() == list(range(10))
    assert ds.input_shape == (28, 28, 1) and ds.input_size == 784
    assert not ds.x_train.flags.writeable and not ds.y_train.flags.writeable


@pytest.mark.parametrize("gz", [True, False])
def test_load_checks_md5_of_official_size_files(tmp_path, monkeypatch, gz):
    paths = write_synthetic_mnist(tmp_path, n_train=20, n_test=10, gz=gz)
    official_md5s_of(monkeypatch, paths)
    load_dataset("mnist", tmp_path)  # official sizes and MD5s: loads
    # Bit rot that keeps the file well-formed: one test label 3 -> 4 (still a valid label),
    # the same byte count. Only the checksum can tell.
    path = paths["y_test"]
    raw = bytearray(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    raw[8 + 3] = 4  # after the 8-byte IDX header; y_test is 0..9
    path.write_bytes(gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw))
    assert path.stat().st_size == (DATASETS["mnist"].file("y_test").gz_size if gz else len(raw))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, str(path), "official MD5", "corrupt", "localnet data fetch mnist")


def test_load_skips_md5_of_files_not_official_size(tmp_path):
    # Synthetic files are not the official size: structural checks only, so they load.
    write_synthetic_mnist(tmp_path, n_train=20, n_test=10)
    assert load_dataset("mnist", tmp_path).y_test.tolist() == list(range(10))


def test_gz_preferred_over_raw(tmp_path):
    write_synthetic_mnist(tmp_path, n_train=20, gz=True)
    write_synthetic_mnist(tmp_path, n_train=30, gz=False)
    assert len(load_dataset("mnist", tmp_path).x_train) == 20


def test_mixed_forms(tmp_path):
    paths = write_synthetic_mnist(tmp_path, n_train=12, gz=True)
    labels = paths["y_train"]
    (tmp_path / labels.name[:-3]).write_bytes(gzip.decompress(labels.read_bytes()))
    labels.unlink()
    assert load_dataset("mnist", tmp_path).y_train.shape == (12,)


def test_count_mismatch(tmp_path):
    paths = write_synthetic_mnist(tmp_path, n_train=20)
    write_idx(paths["y_train"], np.zeros(19, np.uint8))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, "20 images", "19 labels", str(paths["x_train"]), str(paths["y_train"]))


def test_label_out_of_range(tmp_path):
    paths = write_synthetic_mnist(tmp_path)
    write_idx(paths["y_test"], np.full(10, 10, np.uint8))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, str(paths["y_test"]), "label 10")


def test_wrong_image_size(tmp_path):
    paths = write_synthetic_mnist(tmp_path)
    write_idx(paths["x_test"], np.zeros((10, 27, 28), np.uint8))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, str(paths["x_test"]), "27x28", "28x28")


def test_truncated_file_named(tmp_path):
    paths = write_synthetic_mnist(tmp_path)
    path = paths["x_train"]
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, "MNIST file", str(path), "truncated", "localnet data fetch mnist")


def test_labels_swapped_for_images(tmp_path):
    paths = write_synthetic_mnist(tmp_path)
    paths["x_test"].write_bytes(paths["y_test"].read_bytes())
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, str(paths["x_test"]), "expected 0x00000803")


def test_missing_file(tmp_path):
    write_synthetic_mnist(tmp_path)["y_test"].unlink()
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    one_line(err, "t10k-labels-idx1-ubyte[.gz]", "missing", f"--data-dir {tmp_path}")


def test_unknown_dataset():
    with pytest.raises(DataError) as err:
        load_dataset("imagenet21k", "/nowhere")  # "imagenet" is a streamed dataset
    one_line(err, "imagenet21k", "mnist")


def test_load_without_directory_resolves(tmp_path, monkeypatch):
    write_synthetic_mnist(tmp_path / "env", n_train=14)
    monkeypatch.setenv("LOCALNET_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist").x_train) == 14


# --- resolve_data_dir -----------------------------------------------------------------


def test_resolve_order(tmp_path, monkeypatch):
    explicit, env, cache, shipped = (tmp_path / n for n in ("explicit", "env", "cache", "shipped"))
    for root in (explicit, env, shipped):
        write_synthetic_mnist(root / "mnist")
    write_synthetic_mnist(default_fetch_dir("mnist"))
    assert default_fetch_dir("mnist") == cache / "localnet" / "mnist"
    monkeypatch.setenv("LOCALNET_DATA", str(env))
    assert resolve_data_dir("mnist", explicit) == explicit / "mnist"
    assert resolve_data_dir("mnist", None) == env / "mnist"
    monkeypatch.delenv("LOCALNET_DATA")
    assert resolve_data_dir("mnist", None) == cache / "localnet" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    assert resolve_data_dir("mnist", None) == shipped / "mnist"


def test_resolve_direct_folder_and_home_cache(tmp_path, monkeypatch):
    write_synthetic_mnist(tmp_path / "d", gz=False)
    assert resolve_data_dir("mnist", str(tmp_path / "d")) == tmp_path / "d"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_fetch_dir("mnist") == tmp_path / "home" / ".cache" / "localnet" / "mnist"


@pytest.mark.parametrize("source", ["explicit", "env"])
def test_resolve_user_dir_incomplete(tmp_path, monkeypatch, source):
    root = tmp_path / "d"
    write_synthetic_mnist(root)["x_test"].unlink()
    write_synthetic_mnist(default_fetch_dir("mnist"))  # present, but must not be used
    if source == "env":
        monkeypatch.setenv("LOCALNET_DATA", str(root))
    with pytest.raises(DataError) as err:
        resolve_data_dir("mnist", root if source == "explicit" else None)
    fix = f"localnet data fetch mnist --data-dir {root}"
    one_line(err, str(root), "t10k-images-idx3-ubyte[.gz]", fix)


def test_resolve_explicit_not_a_dir(tmp_path):
    with pytest.raises(DataError) as err:
        resolve_data_dir("mnist", tmp_path / "nope")
    one_line(err, "--data-dir", str(tmp_path / "nope"), "does not exist")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError) as err:
        resolve_data_dir("mnist", tmp_path / "file")
    one_line(err, str(tmp_path / "file"), "is not a directory")


def test_resolve_nothing_found(tmp_path):
    write_synthetic_mnist(tmp_path / "shipped" / "mnist")["x_train"].unlink()  # incomplete
    with pytest.raises(DataError) as err:
        resolve_data_dir("mnist", None)
    one_line(err, "not found", str(default_fetch_dir("mnist")), str(tmp_path / "shipped" / "mnist"),
             "localnet data fetch mnist")


def test_shipped_dir_is_repo_data():
    repo = Path(localnet.errors.__file__).resolve().parents[1]
    assert SHIPPED_DATA_DIR("mnist") == repo / "data" / "mnist"


# --- verify_dataset -------------------------------------------------------------------


def test_verify_synthetic_is_md5_mismatch(tmp_path):
    write_synthetic_mnist(tmp_path)
    reports = verify_dataset("mnist", tmp_path)
    assert [r.status for r in reports] == ["md5-mismatch"] * 4
    assert all("\n" not in r.detail and "shape" in r.detail for r in reports)


@pytest.mark.parametrize("gz", [True, False])
def test_verify_ok_and_problems(tmp_path, monkeypatch, gz):
    paths = write_synthetic_mnist(tmp_path, gz=gz)
    official_md5s_of(monkeypatch, paths)
    assert [r.status for r in verify_dataset("mnist", tmp_path)] == ["ok"] * 4
    paths["y_train"].unlink()
    data = paths["x_test"].read_bytes()
    paths["x_test"].write_bytes(data[: len(data) // 2])
    reports = {r.path.name: r for r in verify_dataset("mnist", tmp_path)}
    assert reports["train-labels-idx1-ubyte.gz"].status == "missing"
    assert reports[paths["x_test"].name].status == "corrupt"
    assert "truncated" in reports[paths["x_test"].name].detail
    assert reports[paths["x_train"].name].ok


def test_verify_accepts_regzipped_content(tmp_path, monkeypatch):
    paths = write_synthetic_mnist(tmp_path)
    official_md5s_of(monkeypatch, paths)
    path = paths["x_train"]
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1))
    report = verify_dataset("mnist", tmp_path)[0]
    assert report.ok and "re-gzipped" in report.detail


def test_verify_missing_directory(tmp_path):
    assert {r.status for r in verify_dataset("mnist", tmp_path / "none")} == {"missing"}
