"""MNIST: the four official IDX files, their checksums and mirrors, and the loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import parse_idx, read_idx, read_idx_bytes
from .spec import Dataset, DatasetSpec, FileSpec, find_file

# Mirrors in order of preference: the PyTorch S3 copy and Google's CVDF copy are
# fast and stable; yann.lecun.com is the original but often refuses scripts (403).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

MNIST_FILES = (
    FileSpec(
        name="train-images-idx3-ubyte",
        md5="6bbc9ace898e44ae57da46a324031adb",
        size=47_040_016,
        gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        gz_size=9_912_422,
        role="x_train",
    ),
    FileSpec(
        name="train-labels-idx1-ubyte",
        md5="a25bea736e30d166cdddb491f175f624",
        size=60_008,
        gz_md5="d53e105ee54ea40749a09fcbcd1e9432",
        gz_size=28_881,
        role="y_train",
    ),
    FileSpec(
        name="t10k-images-idx3-ubyte",
        md5="2646ac647ad5339dbf082846283269ea",
        size=7_840_016,
        gz_md5="9fb629c4189551a2d022fa330f9573f3",
        gz_size=1_648_877,
        role="x_test",
    ),
    FileSpec(
        name="t10k-labels-idx1-ubyte",
        md5="27ae3e4e09519cfbb04c329615203637",
        size=10_008,
        gz_md5="ec29112dd5afa0611ce80d1b7f02629c",
        gz_size=4_542,
        role="y_test",
    ),
)


def ndim_of(role: str) -> int:
    """IDX rank of an MNIST file: images are 3-D (N, rows, cols), labels 1-D (N,)."""
    return 3 if role.startswith("x_") else 1


def load_mnist(spec: DatasetSpec, directory: Path) -> Dataset:
    """Load MNIST-format IDX files from `directory` (structural checks, no MD5).

    Checks each file's header and exact size, image size == spec.input_shape,
    equal image/label counts per split, and labels < num_classes.
    Returns x as uint8 (N, 28, 28, 1) and y as int64 (N,).
    """
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {}
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            raise DataError(
                f"{spec.title} file {directory / fspec.label} is missing: "
                f"run `{spec.fetch_hint(directory)}`, or copy the official file there"
            )
        paths[fspec.role] = path
        arrays[fspec.role] = read_idx(
            path, expect_ndim=ndim_of(fspec.role), what=f"{spec.title} file",
            fix=spec.file_fix(directory),
        )
    rows, cols, channels = spec.input_shape
    split = {}
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        x_path, y_path = paths[f"x_{part}"], paths[f"y_{part}"]
        if images.shape[1:] != (rows, cols):
            raise DataError(
                f"{spec.title} file {x_path} holds {images.shape[1]}x{images.shape[2]} images, "
                f"expected {rows}x{cols}: {spec.file_fix(directory)}"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{spec.title} {part} files disagree: {x_path} has {len(images)} images but "
                f"{y_path} has {len(labels)} labels: replace both with the official files "
                f"(`{spec.fetch_hint(directory)}`)"
            )
        if labels.size and int(labels.max()) >= spec.num_classes:
            raise DataError(
                f"{spec.title} file {y_path} has label {int(labels.max())}, "
                f"expected 0..{spec.num_classes - 1}: {spec.file_fix(directory)}"
            )
        # The reshape is a view (no copy); labels widen to int64 for indexing/one-hot.
        x = images.reshape(len(images), rows, cols, channels)
        y = labels.astype(np.int64)
        y.flags.writeable = False
        split[part] = (x, y)
    return Dataset(
        name=spec.name,
        x_train=split["train"][0],
        y_train=split["train"][1],
        x_test=split["test"][0],
        y_test=split["test"][1],
        num_classes=spec.num_classes,
    )


def parse_mnist_file(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    """Decompress and parse one MNIST file: (IDX bytes, "shape NxRxC"); DataError if bad."""
    what, fix = f"{spec.title} file", spec.file_fix(path.parent)
    content = read_idx_bytes(path, what=what, fix=fix)
    array = parse_idx(content, path, expect_ndim=ndim_of(fspec.role), what=what, fix=fix)
    return content, "shape " + "x".join(map(str, array.shape))


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    files=MNIST_FILES,
    mirrors=MNIST_MIRRORS,
    num_classes=10,
    input_shape=(28, 28, 1),
    loader=load_mnist,
    train_size=60_000,
    test_size=10_000,
    parse_file=parse_mnist_file,
)
