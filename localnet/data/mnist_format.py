"""MNIST-format datasets: four IDX files (train/test images and labels), gzipped or raw.

MNIST, Fashion-MNIST and KMNIST share the file names, the layout and the byte sizes
(60,000 + 10,000 images of 28x28, 10 classes); only the pixels and checksums differ.
The generic `idx` dataset uses the same names for any IDX image/label pair. This
module builds their `FileSpec`s and holds the loader and the file parser they share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import parse_idx, read_idx, read_idx_bytes
from .spec import Dataset, DatasetSpec, FileSpec, find_file

#: examples in the official train and test splits of every MNIST-format release
TRAIN_SIZE, TEST_SIZE = 60_000, 10_000
#: (role, file name, examples) of the four files, in registry order
LAYOUT = (
    ("x_train", "train-images-idx3-ubyte", TRAIN_SIZE),
    ("y_train", "train-labels-idx1-ubyte", TRAIN_SIZE),
    ("x_test", "t10k-images-idx3-ubyte", TEST_SIZE),
    ("y_test", "t10k-labels-idx1-ubyte", TEST_SIZE),
)
IMAGE_SIZE = (28, 28)


def mnist_format_files(
    gz_md5: tuple[str, ...], gz_size: tuple[int, ...], md5: tuple[str, ...] | None = None
) -> tuple[FileSpec, ...]:
    """The four FileSpecs of a 28x28 MNIST-format release, in LAYOUT order.

    gz_md5 / gz_size: the published .gz files' MD5s and byte counts; md5: the
    uncompressed files' MD5s, or None where the release does not publish them (the
    uncompressed files then get structural checks only). Uncompressed sizes follow
    from the IDX format: 16 + N*28*28 bytes for images, 8 + N for labels.
    """
    files = []
    for i, (role, name, n) in enumerate(LAYOUT):
        size = 16 + n * IMAGE_SIZE[0] * IMAGE_SIZE[1] if role.startswith("x_") else 8 + n
        files.append(FileSpec(name=name, md5=md5[i] if md5 else None, size=size,
                              gz_md5=gz_md5[i], gz_size=gz_size[i], role=role))
    return tuple(files)


def any_idx_files() -> tuple[FileSpec, ...]:
    """The four FileSpecs of the generic `idx` dataset: MNIST's names, any size, no MD5."""
    return tuple(FileSpec(name=name, md5=None, size=0, role=role, accept_gz=True) for role, name, _ in LAYOUT)


def ndim_of(role: str) -> int | None:
    """IDX rank of a file: labels are 1-D (N,); images 3-D (N, rows, cols) (None for
    the generic `idx` images, which may also be 4-D (N, rows, cols, channels))."""
    return 3 if role.startswith("x_") else 1


def _image_ndim(spec: DatasetSpec, role: str) -> int | None:
    if role.startswith("x_") and spec.shape_from_files:
        return None  # 3-D or 4-D, checked in load_mnist_format
    return ndim_of(role)


def load_mnist_format(spec: DatasetSpec, directory: Path) -> Dataset:
    """Load MNIST-format IDX files from `directory` (structural checks, no MD5).

    Checks each file's header and exact size, equal image/label counts per split, and
    (for a fixed-shape spec) image size == spec.input_shape and labels < num_classes.
    For a `shape_from_files` spec (`idx`) the input shape comes from the image files
    ((N, H, W) -> (H, W, 1); (N, H, W, C) kept) and must agree between train and test,
    and the class count is the largest label + 1.
    Returns x as uint8 (N, H, W, C) and y as int64 (N,).
    """
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {}
    what = f"{spec.title} file"
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            raise DataError(
                f"{spec.title} file {directory / fspec.label} is missing: "
                f"{_missing_fix(spec, directory)}"
            )
        paths[fspec.role] = path
        arrays[fspec.role] = read_idx(path, expect_ndim=_image_ndim(spec, fspec.role), what=what,
                                      fix=spec.file_fix(directory))
    shape = _input_shape(spec, arrays, paths, directory)
    num_classes = spec.num_classes
    if spec.shape_from_files:
        num_classes = 1 + max((int(arrays[r].max()) for r in ("y_train", "y_test") if arrays[r].size), default=0)
    split = {}
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        x_path, y_path = paths[f"x_{part}"], paths[f"y_{part}"]
        if len(images) != len(labels):
            raise DataError(
                f"{spec.title} {part} files disagree: {x_path} has {len(images)} images but "
                f"{y_path} has {len(labels)} labels: {_pair_fix(spec, directory)}"
            )
        if labels.size and int(labels.max()) >= num_classes:
            raise DataError(
                f"{spec.title} file {y_path} has label {int(labels.max())}, "
                f"expected 0..{num_classes - 1}: {spec.file_fix(directory)}"
            )
        # The reshape is a view (no copy); labels widen to int64 for indexing/one-hot.
        x = images.reshape(len(images), *shape)
        y = labels.astype(np.int64)
        y.flags.writeable = False
        split[part] = (x, y)
    return Dataset(name=spec.name, x_train=split["train"][0], y_train=split["train"][1],
                   x_test=split["test"][0], y_test=split["test"][1], num_classes=num_classes)


def _input_shape(spec: DatasetSpec, arrays: dict[str, np.ndarray], paths: dict[str, Path],
                 directory: Path) -> tuple[int, ...]:
    """(H, W, C) of the image files; DataError when they do not match the spec (fixed
    shape) or each other (`idx`)."""
    shapes = {}
    for part in ("train", "test"):
        images = arrays[f"x_{part}"]
        if images.ndim not in (3, 4):
            raise DataError(
                f"{spec.title} file {paths[f'x_{part}']} holds a {images.ndim}-D array, expected images "
                f"(N, rows, cols) or (N, rows, cols, channels): {spec.file_fix(directory)}"
            )
        shapes[part] = tuple(images.shape[1:]) + ((1,) if images.ndim == 3 else ())
    if not spec.shape_from_files:
        for part, shape in shapes.items():
            if shape != tuple(spec.input_shape):
                rows, cols = shape[:2]
                want = "x".join(map(str, spec.input_shape[:2]))
                raise DataError(f"{spec.title} file {paths[f'x_{part}']} holds {rows}x{cols} images, "
                                f"expected {want}: {spec.file_fix(directory)}")
    elif shapes["train"] != shapes["test"]:
        raise DataError(
            f"{spec.title} image files disagree: {paths['x_train']} holds {shapes['train']} images but "
            f"{paths['x_test']} holds {shapes['test']}: train and test images must have one shape"
        )
    return shapes["train"]


def _missing_fix(spec: DatasetSpec, directory: Path) -> str:
    if not spec.mirrors:
        return spec.obtain
    return f"run `{spec.fetch_hint(directory)}`, or copy the official file there"


def _pair_fix(spec: DatasetSpec, directory: Path) -> str:
    if not spec.mirrors:
        return "give each image file the label file of the same examples"
    return f"replace both with the official files (`{spec.fetch_hint(directory)}`)"


def parse_mnist_format_file(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    """Decompress and parse one file: (IDX bytes, "shape NxRxC"); DataError if bad."""
    what, fix = f"{spec.title} file", spec.file_fix(path.parent)
    content = read_idx_bytes(path, what=what, fix=fix)
    array = parse_idx(content, path, expect_ndim=_image_ndim(spec, fspec.role), what=what, fix=fix)
    return content, "shape " + "x".join(map(str, array.shape))
