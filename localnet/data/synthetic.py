"""Tiny fake MNIST and CIFAR-10 datasets for tests: official file names and layout,
a few random images.

They parse like the real files (so `load_dataset` accepts them) but fail MD5 checks.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np

from .cifar import CIFAR10, CIFAR10_ARCHIVE, FOLDER
from .idx import write_idx
from .mnist import MNIST
from .spec import DatasetSpec


def write_synthetic_mnist(
    directory: str | Path,
    n_train: int = 20,
    n_test: int = 10,
    *,
    gz: bool = True,
    seed: int = 0,
    spec: DatasetSpec = MNIST,
) -> dict[str, Path]:
    """Write random MNIST-format IDX files under their official names in `directory`.

    Images are uint8 (n, 28, 28) noise, labels cycle through 0..num_classes-1 (so
    every class occurs when n >= num_classes). gz=True writes the `.gz` names, else
    the raw names. Returns {role: path}, roles "x_train", "y_train", "x_test", "y_test".
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, cols, _ = spec.input_shape
    counts = {"train": n_train, "test": n_test}
    paths = {}
    for fspec in spec.files:
        kind, part = fspec.role.split("_")
        n = counts[part]
        if kind == "x":
            array = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
        else:
            array = (np.arange(n) % spec.num_classes).astype(np.uint8)
        name = fspec.name + ".gz" if gz else fspec.name
        paths[fspec.role] = write_idx(directory / name, array)
    return paths


CIFAR10_LABEL_NAMES = (b"airplane", b"automobile", b"bird", b"cat", b"deer",
                       b"dog", b"frog", b"horse", b"ship", b"truck")


def py2_pickle(obj: object) -> bytes:
    """Pickle `obj` as Python 2's cPickle (protocol 2) did for the official CIFAR-10 files.

    Supports dicts, lists, bytes (Python-2 str: SHORT_BINSTRING / BINSTRING, where
    Python 3's pickle would call _codecs.encode), ints, and 2-D uint8 ndarrays (the
    numpy.core.multiarray._reconstruct + BUILD sequence of the official files). The
    opcodes are those of the official files except that no memo (BINPUT) is written.
    """
    return b"\x80\x02" + _encode(obj) + b"."


def _encode(obj: object) -> bytes:
    if isinstance(obj, bytes):
        if len(obj) < 256:
            return b"U" + bytes([len(obj)]) + obj
        return b"T" + struct.pack("<i", len(obj)) + obj
    if isinstance(obj, bool) or obj is None:
        raise TypeError(f"py2_pickle does not support {obj!r}")
    if isinstance(obj, int):
        if 0 <= obj < 256:
            return b"K" + bytes([obj])
        if 0 <= obj < 65536:
            return b"M" + struct.pack("<H", obj)
        return b"J" + struct.pack("<i", obj)
    if isinstance(obj, list):  # MARK items APPENDS, 1000 items at a time like cPickle
        chunks = (obj[i:i + 1000] for i in range(0, len(obj), 1000))
        return b"]" + b"".join(b"(" + b"".join(map(_encode, c)) + b"e" for c in chunks)
    if isinstance(obj, dict):  # ordered dicts of < 1000 items: one MARK ... SETITEMS
        items = b"".join(_encode(k) + _encode(v) for k, v in obj.items())
        return b"}" + (b"(" + items + b"u" if obj else b"")
    if isinstance(obj, np.ndarray) and obj.dtype == np.uint8 and obj.ndim == 2:
        dtype = (b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"  # dtype("u1", 0, 1), then its state
                 b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
        return (
            b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
            + b"(K\x01" + _encode(obj.shape[0]) + _encode(obj.shape[1]) + b"\x86" + dtype
            + b"\x89" + _encode(np.ascontiguousarray(obj).tobytes()) + b"tb"
        )
    raise TypeError(f"py2_pickle does not support {type(obj).__name__}")


def cifar_batch(data: np.ndarray, labels: list[int], batch_label: bytes = b"synthetic batch") -> bytes:
    """A batch file's bytes: data uint8 (N, 3072) rows of 1024 R, 1024 G, 1024 B values,
    N int labels; the dict keys (in the official order) and opcodes of the real files."""
    filenames = [b"synthetic_%05d.png" % i for i in range(len(data))]
    return py2_pickle(
        {b"batch_label": batch_label, b"labels": list(labels), b"data": data, b"filenames": filenames}
    )


def write_synthetic_cifar10(
    directory: str | Path,
    n_train_per_batch: int = 10,
    n_test: int = 10,
    *,
    layout: str = "folder",
    seed: int = 0,
) -> dict[str, Path]:
    """Write a random CIFAR-10 in the official python-version layout into `directory`.

    Pixels are uint8 noise, labels cycle through 0..9 in every batch (so every class
    occurs when a batch has >= 10 images); 5 train batches of n_train_per_batch, one
    test batch of n_test, and batches.meta. layout: "folder" writes the files into
    directory/cifar-10-batches-py/, "flat" directly into `directory`, "tarball" only
    directory/cifar-10-python.tar.gz (deterministic bytes: zero mtimes, no names).
    Returns {file name: path}; for "tarball" {"cifar-10-python.tar.gz": path}.
    """
    if layout not in ("folder", "flat", "tarball"):
        raise ValueError(f"layout must be folder, flat or tarball, got {layout!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    contents = {}
    for fspec in CIFAR10.files:
        if fspec.role == "meta":
            meta = {b"num_cases_per_batch": n_train_per_batch,
                    b"label_names": list(CIFAR10_LABEL_NAMES), b"num_vis": 3072}
            contents[fspec.name] = py2_pickle(meta)
            continue
        n = n_test if fspec.role == "test" else n_train_per_batch
        pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        label = (b"testing batch 1 of 1" if fspec.role == "test"
                 else b"training batch %s of 5" % fspec.name[-1].encode())
        contents[fspec.name] = cifar_batch(pixels, [i % 10 for i in range(n)], label)
    if layout == "tarball":
        archive = directory / CIFAR10_ARCHIVE.name
        archive.write_bytes(_tar_gz({f"{FOLDER}/{name}": data for name, data in contents.items()}))
        return {archive.name: archive}
    folder = directory / FOLDER if layout == "folder" else directory
    folder.mkdir(exist_ok=True)
    paths = {}
    for name, data in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def _tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz holding `members` (name -> content); same input, same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
