"""CIFAR-10 loading, restricted unpickling, archive extraction, resolve, verify and fetch,
on tiny synthetic files (the real batches are never read here)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle

import numpy as np
import pytest
from helpers import one_line

from localnet.data import DATASETS, fetch_dataset, get_spec, load_dataset, resolve_data_dir, verify_dataset
from localnet.data.cifar import FOLDER
from localnet.data.synthetic import cifar_batch, py2_pickle, write_synthetic_cifar10
from localnet.errors import DataError

TARBALL = "cifar-10-python.tar.gz"
BATCHES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
UNREACHABLE = "http://127.0.0.1:9/"  # discard port: connection refused at once


pytestmark = pytest.mark.usefixtures("isolated_env")  # tests/data/conftest.py


def load_error(directory, *fragments: str) -> str:
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", directory)
    return one_line(err, *fragments)


def make_official(monkeypatch, files=None, archive=None) -> None:
    """Make the registry's CIFAR-10 MD5s those of `files` ({name: path}) and `archive`."""
    spec = DATASETS["cifar10"]
    md5 = lambda path: hashlib.md5(path.read_bytes()).hexdigest()  # noqa: E731
    changes = {}
    if files is not None:
        changes["files"] = tuple(dataclasses.replace(f, md5=md5(files[f.name])) for f in spec.files)
    if archive is not None:
        changes["archive"] = dataclasses.replace(spec.archive, md5=md5(archive))
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(spec, **changes))


# --- loading ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["folder", "flat", "tarball"])
def test_load_synthetic(tmp_path, layout):
    write_synthetic_cifar10(tmp_path, n_train_per_batch=12, n_test=7, layout=layout)
    ds = load_dataset("cifar10", tmp_path)
    assert ds.name == "cifar10" and ds.num_classes == 10 and ds.input_shape == (32, 32, 3)
    assert ds.x_train.shape == (60, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (7, 32, 32, 3) and ds.x_train.flags.c_contiguous
    assert ds.y_train.dtype == np.int64 and ds.y_train[:12].tolist() == [*range(10), 0, 1]
    assert ds.y_test.tolist() == list(range(7))
    assert not ds.x_train.flags.writeable and not ds.y_test.flags.writeable


def test_channel_last_layout_and_batch_order(tmp_path):
    paths = write_synthetic_cifar10(tmp_path, n_train_per_batch=3, n_test=2)
    data = np.zeros((2, 3072), np.uint8)
    row, col = 5, 17  # pixel (5, 17) of example 1: R, G, B planes are 1024 values apart
    data[1, [row * 32 + col, 1024 + row * 32 + col, 2048 + row * 32 + col]] = (11, 22, 33)
    data[0, 1024:2048] = 200  # the whole green plane of example 0
    paths["data_batch_2"].write_bytes(cifar_batch(data, [4, 9]))
    ds = load_dataset("cifar10", tmp_path)
    x = ds.x_train[3:5]  # batch 2 follows batch 1's three images
    assert ds.y_train[3:5].tolist() == [4, 9]
    assert x[1, row, col].tolist() == [11, 22, 33] and np.count_nonzero(x[1]) == 3
    assert (x[0, :, :, 1] == 200).all() and not x[0, :, :, [0, 2]].any()


def test_folder_preferred_over_flat(tmp_path):
    write_synthetic_cifar10(tmp_path, n_train_per_batch=3, layout="flat")
    write_synthetic_cifar10(tmp_path, n_train_per_batch=4, layout="folder")
    assert len(load_dataset("cifar10", tmp_path).x_train) == 20


def test_rejects_foreign_global_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    paths = write_synthetic_cifar10(tmp_path / "d")
    paths["data_batch_3"].write_bytes(pickle.dumps(Exploit(), protocol=2))  # pickled, never run
    load_error(tmp_path / "d", str(paths["data_batch_3"]), f"refers to {os.system.__module__}.system",
               "which a CIFAR-10 batch never does", "not an official batch", "re-download")
    assert not marker.exists()


def test_rejects_python3_pickle(tmp_path):
    # Python 3 pickles bytes at protocol 2 through _codecs.encode: never in a real batch.
    paths = write_synthetic_cifar10(tmp_path)
    data = np.zeros((1, 3072), np.uint8)
    batch = {b"batch_label": b"x", b"labels": [1], b"data": data, b"filenames": [b"f"]}
    paths["test_batch"].write_bytes(pickle.dumps(batch, protocol=2))
    load_error(tmp_path, str(paths["test_batch"]), "refers to _codecs.encode")


def test_python3_protocol4_repickle_loads_protocol5_refused(tmp_path):
    # numpy >= 2 names numpy._core.multiarray._reconstruct at protocols 2-4 (allowed);
    # protocol 5 rebuilds arrays with numpy._core.numeric._frombuffer (never in a batch).
    paths = write_synthetic_cifar10(tmp_path, n_train_per_batch=3)
    batch = pickle.loads(paths["data_batch_2"].read_bytes(), encoding="bytes")
    paths["data_batch_2"].write_bytes(pickle.dumps(batch, protocol=4))
    assert load_dataset("cifar10", tmp_path).x_train.shape == (15, 32, 32, 3)
    paths["data_batch_2"].write_bytes(pickle.dumps(batch, protocol=5))
    load_error(tmp_path, str(paths["data_batch_2"]), "refers to numpy._core.numeric._frombuffer")


def test_truncated_and_trailing(tmp_path):
    paths = write_synthetic_cifar10(tmp_path)
    path = paths["data_batch_1"]
    whole = path.read_bytes()
    path.write_bytes(whole[:-100])
    fix = f"localnet data fetch cifar10 --data-dir {tmp_path}`"  # the data dir, not the folder
    load_error(tmp_path, "CIFAR-10 file", str(path), "is truncated", fix)
    path.write_bytes(whole + b"junk")
    load_error(tmp_path, str(path), "4 trailing bytes")
    path.write_bytes(b"\x00garbage")
    load_error(tmp_path, str(path), "is corrupt")


@pytest.mark.parametrize(("data", "labels", "fragment"), [
    (np.zeros((2, 3071), np.uint8), [0, 1], "has data uint8 array of shape (2, 3071), expected uint8"),
    (b"pixels", [0, 1], "has data bytes"),
    (np.zeros((2, 3072), np.uint8), [0], "1 integer labels for 2 images"),
    (np.zeros((2, 3072), np.uint8), [0, 10], "labels 0..10, expected 0..9"),
    (np.zeros((2, 3072), np.uint8), [0, b"cat"], "integer labels"),
])
def test_bad_structure(tmp_path, data, labels, fragment):
    paths = write_synthetic_cifar10(tmp_path)
    batch = {b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": [b"a", b"b"]}
    paths["data_batch_4"].write_bytes(py2_pickle(batch))
    load_error(tmp_path, str(paths["data_batch_4"]), fragment, "not a CIFAR-10 batch")


def test_not_a_dict_and_missing_key(tmp_path):
    paths = write_synthetic_cifar10(tmp_path)
    paths["test_batch"].write_bytes(py2_pickle([1, 2]))
    load_error(tmp_path, "holds a list, not a dict")
    paths["test_batch"].write_bytes(py2_pickle({b"data": np.zeros((1, 3072), np.uint8)}))
    load_error(tmp_path, "lacks the key(s) batch_label, labels, filenames")


def test_missing_file(tmp_path):
    write_synthetic_cifar10(tmp_path)["batches.meta"].unlink()
    load_error(tmp_path, "batches.meta is missing", TARBALL, f"--data-dir {tmp_path}")


# --- tarball ---------------------------------------------------------------------------


def test_tarball_only_extracts_once(tmp_path):
    write_synthetic_cifar10(tmp_path, n_train_per_batch=4, layout="tarball")
    assert resolve_data_dir("cifar10", tmp_path) == tmp_path
    first = load_dataset("cifar10", tmp_path)
    folder = tmp_path / FOLDER
    assert sorted(p.name for p in folder.iterdir()) == sorted([*BATCHES, "batches.meta"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [FOLDER, TARBALL]  # no temp leftovers
    stamp = (folder / "data_batch_1").stat().st_mtime_ns
    (tmp_path / TARBALL).write_bytes(b"broken")  # not read again: the batches are there
    assert np.array_equal(load_dataset("cifar10", tmp_path).x_train, first.x_train)
    assert (folder / "data_batch_1").stat().st_mtime_ns == stamp


def test_tarball_fills_in_missing_batch(tmp_path):
    write_synthetic_cifar10(tmp_path, n_train_per_batch=4, layout="tarball")
    load_dataset("cifar10", tmp_path)
    (tmp_path / FOLDER / "test_batch").unlink()
    assert load_dataset("cifar10", tmp_path).x_test.shape == (10, 32, 32, 3)


def test_corrupt_tarball(tmp_path):
    archive = write_synthetic_cifar10(tmp_path, layout="tarball")[TARBALL]
    archive.write_bytes(archive.read_bytes()[:300])
    load_error(tmp_path, f"archive {archive}", "truncated or corrupt", "localnet data fetch cifar10")
    assert sorted(p.name for p in tmp_path.iterdir()) == [TARBALL]  # nothing half-extracted


# --- resolve and verify ----------------------------------------------------------------


def test_resolve_layouts(tmp_path):
    write_synthetic_cifar10(tmp_path / "a")  # a/cifar-10-batches-py/...
    write_synthetic_cifar10(tmp_path / "b" / "cifar10", layout="flat")
    assert resolve_data_dir("cifar10", tmp_path / "a") == tmp_path / "a"
    assert resolve_data_dir("cifar10", tmp_path / "a" / FOLDER) == tmp_path / "a" / FOLDER
    assert resolve_data_dir("cifar10", tmp_path / "b") == tmp_path / "b" / "cifar10"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as err:
        resolve_data_dir("cifar10", tmp_path / "empty")
    one_line(err, "data_batch_1", f"or the archive {TARBALL}", "localnet data fetch cifar10")


def test_verify_statuses(tmp_path, monkeypatch):
    paths = write_synthetic_cifar10(tmp_path)
    reports = verify_dataset("cifar10", tmp_path)
    assert [r.status for r in reports] == ["md5-mismatch"] * 7
    assert all("\n" not in r.detail for r in reports) and "10 images 32x32x3" in reports[0].detail
    make_official(monkeypatch, files=paths)
    assert [r.status for r in verify_dataset("cifar10", tmp_path)] == ["ok"] * 7
    paths["data_batch_2"].write_bytes(paths["data_batch_2"].read_bytes()[:-9])
    paths["test_batch"].unlink()
    statuses = {r.path.name: r.status for r in verify_dataset("cifar10", tmp_path)}
    assert statuses == {**dict.fromkeys(BATCHES, "ok"), "data_batch_2": "corrupt",
                        "test_batch": "missing", "batches.meta": "ok"}


def test_verify_tarball_only(tmp_path, monkeypatch):
    archive = write_synthetic_cifar10(tmp_path, layout="tarball")[TARBALL]
    [report] = verify_dataset("cifar10", tmp_path)
    assert report.path == archive and report.status == "md5-mismatch"
    make_official(monkeypatch, archive=archive)
    [report] = verify_dataset("cifar10", tmp_path)
    assert report.ok and "extracted on first load" in report.detail
    assert sorted(p.name for p in tmp_path.iterdir()) == [TARBALL]  # verify does not extract


# --- fetch -----------------------------------------------------------------------------


def test_fetch_unreachable(tmp_path):
    target = tmp_path / "data"
    with pytest.raises(DataError) as err:
        fetch_dataset("cifar10", target, timeout=2, mirrors=[UNREACHABLE])
    one_line(err, f"could not download {TARBALL} from any mirror", "127.0.0.1:9", "check the network",
             f"official CIFAR-10 files into {target}")
    assert list(target.iterdir()) == []


def test_fetch_from_file_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    archive = write_synthetic_cifar10(mirror, n_train_per_batch=5, layout="tarball")[TARBALL]
    files = write_synthetic_cifar10(tmp_path / "same", n_train_per_batch=5)  # same seed: same files
    make_official(monkeypatch, files=files, archive=archive)
    target = tmp_path / "data"
    lines = []
    written = fetch_dataset("cifar10", target, mirrors=[mirror.as_uri()], log=lines.append)
    assert [p.name for p in written] == [TARBALL, *BATCHES, "batches.meta"] and len(lines) == 8
    assert all(r.ok for r in verify_dataset("cifar10", target))
    assert load_dataset("cifar10", target).x_train.shape == (25, 32, 32, 3)
    assert fetch_dataset("cifar10", target, mirrors=[UNREACHABLE]) == []  # all present and ok
    (target / FOLDER / "batches.meta").write_bytes(b"bad")  # re-extracted, no download
    assert fetch_dataset("cifar10", target, mirrors=[UNREACHABLE]) == [target / FOLDER / "batches.meta"]


def test_fetch_md5_mismatch(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_synthetic_cifar10(mirror, layout="tarball")
    with pytest.raises(DataError) as err:
        fetch_dataset("cifar10", tmp_path / "data", mirrors=[mirror.as_uri()])
    one_line(err, TARBALL, "md5", "c58f3010e74e6b94a0d2a1a6bc50a1bc")
    assert list((tmp_path / "data").iterdir()) == []


def test_registered():
    spec = get_spec("cifar10")
    assert spec.input_shape == (32, 32, 3) and spec.num_classes == 10 and len(spec.files) == 7
    assert spec.archive.md5 == "c58f3010e74e6b94a0d2a1a6bc50a1bc"
    assert spec.file("train_1").md5 == "c99cafc152244af753f735de768cd75f"
