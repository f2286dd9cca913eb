"""What a dataset is (`Dataset`) and how its files are described (`FileSpec`, `DatasetSpec`).

A `DatasetSpec` holds everything dataset-specific: file names, checksums, sizes,
download mirrors and the loader function. MNIST is one entry (see mnist.py): four
files, each published gzipped. CIFAR-10 (cifar.py) is another: its files are published
together in one tar.gz archive (`DatasetSpec.archive`), inside a folder
(`FileSpec.folder`) that is also accepted on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == is ambiguous
class Dataset:
    """A train/test split held in host memory.

    x_train: uint8 (N_train, H, W, C), channel-last raw pixels 0..255 (MNIST: (N, 28, 28, 1));
    y_train: int64 (N_train,) class indices in [0, num_classes); x_test / y_test likewise.
    Loaders return read-only arrays (they share memory with the decompressed file),
    so take a copy before modifying; trainers normalise and flatten as they need.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        # Guards against loader bugs; file problems are reported earlier as DataError.
        splits = (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test))
        for split, x, y in splits:
            if len(x) != len(y):
                raise ValueError(f"{self.name} {split}: {len(x)} inputs but {len(y)} labels")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(f"{self.name}: train/test input shapes differ")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, (H, W, C): (28, 28, 1) for MNIST."""
        return tuple(self.x_train.shape[1:])

    @property
    def input_size(self) -> int:
        """Number of values in one input (784 for MNIST): the width of a flattened input."""
        return int(np.prod(self.input_shape))


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset, as published.

    name: the uncompressed file name (e.g. "train-images-idx3-ubyte");
    md5 / size: checksum and byte count of the uncompressed content; md5 None when no
    official MD5 of the uncompressed content is published (Fashion-MNIST and KMNIST
    publish only their .gz files' MD5s: an uncompressed copy gets structural checks
    only), size 0 when the size is not fixed (the generic `idx` dataset);
    gz_md5 / gz_size: the same for the published `name + ".gz"`, or None when the
    file is published only as is (then `name` is both the download and the file) or
    the number is not published;
    accept_gz: the file may be gzipped on disk even though no .gz MD5 is known (`idx`);
    role: what the loader uses it for (e.g. "x_train", "y_test");
    folder: a sub-folder where the file may sit ("cifar-10-batches-py"), preferred over
    the data dir itself; it is also the file's folder inside the dataset's archive.
    """

    name: str
    md5: str | None
    size: int
    gz_md5: str | None = None
    gz_size: int | None = None
    role: str = ""
    folder: str = ""
    accept_gz: bool = False

    @property
    def gz_form(self) -> bool:
        """True when the file may be stored as `name + ".gz"` (and is fetched that way)."""
        return self.gz_md5 is not None or self.accept_gz

    @property
    def relpath(self) -> str:
        """The file's path relative to the data dir (and inside the archive) when it sits
        in its folder: "cifar-10-batches-py/data_batch_1", or just `name`."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def download_name(self) -> str:
        """The name fetched from a mirror: the .gz when one is published."""
        return self.name + ".gz" if self.gz_form else self.name

    @property
    def candidates(self) -> tuple[str, ...]:
        """Names accepted on disk, preferred first (in `folder` before directly in the
        data dir, .gz before the raw file)."""
        names = (self.name + ".gz", self.name) if self.gz_form else (self.name,)
        return tuple(f"{self.folder}/{n}" for n in names) + names if self.folder else names

    @property
    def label(self) -> str:
        """The file name for messages, e.g. "train-images-idx3-ubyte[.gz]"."""
        return self.name + "[.gz]" if self.gz_form else self.name

    def expected_md5(self, path: Path) -> str | None:
        """The official MD5 of the file at `path` in its (.gz or raw) form; None when
        none is published for that form."""
        if path.name.endswith(".gz") and self.gz_form:
            return self.gz_md5
        return self.md5

    def official_size(self, path: Path) -> int | None:
        """The official byte count of the file at `path` in its form; None if unknown."""
        if path.name.endswith(".gz") and self.gz_form:
            return self.gz_size
        return self.size or None


# loader(spec, directory) -> Dataset, with structural checks; DataError on bad files.
Loader = Callable[["DatasetSpec", Path], Dataset]
# parse_file(spec, file_spec, path) -> (uncompressed content, short summary such as
# "shape 60000x28x28"); raises DataError when the file does not parse. Used by verify.
FileParser = Callable[["DatasetSpec", FileSpec, Path], tuple[bytes, str]]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: files, checksums, where to download, how to load.

    name: registry key and cache sub-folder ("mnist"); title: name for messages ("MNIST");
    mirrors: base URLs tried in order, each + FileSpec.download_name gives a file URL;
    loader(spec, directory) -> Dataset does structural checks (not MD5s);
    parse_file(spec, file_spec, path) parses one file for `verify_dataset`;
    archive: None, or the published archive holding every file at its `relpath`
    (fetch downloads it instead of single files, and loading extracts files that are
    missing from it); train_size / test_size: the official split sizes.
    """

    name: str
    title: str
    files: tuple[FileSpec, ...]
    mirrors: tuple[str, ...]
    num_classes: int
    input_shape: tuple[int, ...]
    loader: Loader
    parse_file: FileParser
    archive: FileSpec | None = None
    #: example counts of the official train / test splits (0: unknown); lets `localnet
    #: validate` reject a batch larger than the data before any file is read
    train_size: int = 0
    test_size: int = 0
    #: True when the input shape and class count are read from the files (`idx`):
    #: input_shape / num_classes are then nominal values, used only where no file is
    #: read (`localnet validate`, `plan`, the memory check before loading)
    shape_from_files: bool = False
    #: how to obtain the files when there is no mirror (shown by `localnet data fetch`)
    obtain: str = ""

    def file(self, role: str) -> FileSpec:
        """The FileSpec with the given role (KeyError if none)."""
        for spec in self.files:
            if spec.role == role:
                return spec
        raise KeyError(f"{self.name} has no file with role {role!r}")

    def fetch_hint(self, directory: Path | str | None = None) -> str:
        """The command that downloads this dataset (into `directory` if given)."""
        cmd = f"localnet data fetch {self.name}"
        return f"{cmd} --data-dir {directory}" if directory is not None else cmd

    def get_hint(self, directory: Path | str | None = None) -> str:
        """How to get this dataset's files (into `directory` if given), for messages about
        missing files: the fetch command where there is a mirror, else `obtain` (e.g.
        ImageNet's `localnet data prepare imagenet`)."""
        if not self.mirrors and self.obtain:
            return self.obtain
        where = "there" if directory is not None else "into a folder and pass --data-dir DIR"
        return f"run `{self.fetch_hint(directory)}`, or copy the official {self.title} files {where}"

    def file_fix(self, directory: Path | str) -> str:
        """Advice appended to errors about one bad file of this dataset in `directory`."""
        if not self.mirrors:
            return "replace it with a good copy"
        return (
            f"delete it and run `{self.fetch_hint(directory)}`, "
            f"or copy the official {self.title} file there"
        )


def find_file(directory: Path, spec: FileSpec) -> Path | None:
    """The path of `spec`'s file in `directory` (.gz preferred over raw), or None."""
    for name in spec.candidates:
        path = directory / name
        if path.is_file():
            return path
    return None


def missing_files(directory: Path, spec: DatasetSpec) -> list[FileSpec]:
    """The files of `spec` that `directory` lacks in every accepted form."""
    return [f for f in spec.files if find_file(directory, f) is None]


def find_archive(directory: Path, spec: DatasetSpec) -> Path | None:
    """The path of `spec`'s archive in `directory`, or None (always None without one)."""
    return find_file(directory, spec.archive) if spec.archive is not None else None
