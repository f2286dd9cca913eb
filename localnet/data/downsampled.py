"""Downsampled ImageNet (Chrabaszcz, Loshchilov & Hutter 2017): `imagenet32`, `imagenet64`.

The npz release, read directly: train_data_batch_1.npz .. train_data_batch_10.npz and
val_data.npz (from Imagenet32_train_npz.zip / Imagenet32_val_npz.zip, 64 likewise).
Each file holds `data`, uint8 (n, 3*S*S), every row the red, green and blue S x S
planes in turn, and `labels`, n integers 1..1000 (1-based). The loader returns
channel-last uint8 (N, S, S, 3) and 0-based int64 labels; the whole split is held in
memory (train: 3.9 GB at 32x32, 15.7 GB at 64x64). No MD5s are published: the files
are checked for structure (keys, shapes, counts, label range).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import error_summary
from .spec import Dataset, DatasetSpec, FileSpec, find_file

TRAIN_BATCHES = 10
CLASSES = 1000


def _files() -> tuple[FileSpec, ...]:
    train = tuple(FileSpec(f"train_data_batch_{i}.npz", None, 0, role=f"train_{i}") for i in range(1, TRAIN_BATCHES + 1))
    return (*train, FileSpec("val_data.npz", None, 0, role="test"))


#: rows a release file may hold (a train batch has about 128,000): a header promising more is not believed
MAX_ROWS = 2_000_000


def _check_headers(spec: DatasetSpec, path: Path, fix: str) -> None:
    """DataError if an array header in the npz promises more than the file can hold: more
    rows than MAX_ROWS, or more bytes than its member stores (a few KB claiming terabytes
    would otherwise be allocated before anything else is checked)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    major, _ = np.lib.format.read_magic(member)
                    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(member)
                need = math.prod(shape) * dtype.itemsize
                if (shape and shape[0] > MAX_ROWS) or need > info.file_size:
                    raise DataError(f"{spec.title} file {path}: {info.filename} claims shape {shape} ({need:,} bytes) "
                                    f"but stores {info.file_size:,}: {fix}")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{spec.title} file {path} is not a readable npz ({error_summary(err)[:120]}): {fix}") from None


def read_batch(spec: DatasetSpec, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 (n, S, S, 3), y int64 (n,) 0-based) of one npz file; DataError if malformed."""
    side = spec.input_shape[0]
    fix = spec.file_fix(path.parent)
    _check_headers(spec, path, fix)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data, labels = npz["data"], np.asarray(npz["labels"])
    except KeyError as err:
        raise DataError(f"{spec.title} file {path} lacks the array {err}: {fix}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{spec.title} file {path} is not a readable npz ({error_summary(err)[:120]}): {fix}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise DataError(f"{spec.title} file {path} holds data {data.dtype} {data.shape}, expected uint8 "
                        f"(n, {3 * side * side}) (the {side}x{side} release?): {fix}")
    if labels.ndim != 1 or len(labels) != len(data) or labels.dtype.kind not in "iu":
        raise DataError(f"{spec.title} file {path} has {labels.shape} labels for {len(data)} images: {fix}")
    if len(labels) and (labels.min() < 1 or labels.max() > CLASSES):
        raise DataError(f"{spec.title} file {path} has labels {labels.min()}..{labels.max()}, expected 1..{CLASSES}: {fix}")
    # Planes (n, 3, S, S) -> channel-last (n, S, S, 3), one copy.
    x = np.ascontiguousarray(data.reshape(len(data), 3, side, side).transpose(0, 2, 3, 1))
    return x, labels.astype(np.int64) - 1


def load_downsampled(spec: DatasetSpec, directory: Path) -> Dataset:
    """All ten train batches (in order) and the val file, as read-only arrays."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "test": []}
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            raise DataError(f"{spec.title} file {directory / fspec.name} is missing: {spec.obtain}")
        parts["train" if fspec.role.startswith("train") else "test"].append(read_batch(spec, path))
    arrays = []
    for part in ("train", "test"):
        x = np.concatenate([p[0] for p in parts[part]])
        y = np.concatenate([p[1] for p in parts[part]])
        x.flags.writeable = y.flags.writeable = False
        arrays += [x, y]
    x_train, y_train, x_test, y_test = arrays
    return Dataset(spec.name, x_train, y_train, x_test, y_test, num_classes=CLASSES)


def parse_downsampled(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    """The `FileParser` used by verify (structure only: no MD5 is published)."""
    x, _ = read_batch(spec, path)
    return b"", f"{len(x)} images {x.shape[1]}x{x.shape[2]}x3"


def downsampled_spec(side: int) -> DatasetSpec:
    """The registry entry of the side x side release."""
    return DatasetSpec(
        name=f"imagenet{side}", title=f"Imagenet{side}x{side}", files=_files(), mirrors=(),
        num_classes=CLASSES, input_shape=(side, side, 3), loader=load_downsampled, parse_file=parse_downsampled,
        train_size=1_281_167, test_size=50_000,
        obtain=(f"download Imagenet{side}_train_npz.zip and Imagenet{side}_val_npz.zip (Downsampled ImageNet, "
                f"https://image-net.org/download-images, free account) and unzip both into one folder, "
                f"then pass it as --data-dir"),
    )


IMAGENET32 = downsampled_spec(32)
IMAGENET64 = downsampled_spec(64)
