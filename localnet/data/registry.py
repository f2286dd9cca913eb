"""The dataset registry (name -> DatasetSpec) and `load_dataset`.

The one place dataset names, sizes and class counts are written: the config's allowed
`data.dataset` values, `localnet data fetch/verify` and the docs' table derive from it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .checksum import check_official_checksums
from .cifar import CIFAR10
from .downsampled import IMAGENET32, IMAGENET64
from .mnist import FASHION_MNIST, IDX, KMNIST, MNIST
from .spec import Dataset, DatasetSpec

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (MNIST, FASHION_MNIST, KMNIST, IDX, CIFAR10, IMAGENET32, IMAGENET64)
}


def get_spec(name: str) -> DatasetSpec:
    """The registered DatasetSpec called `name`; DataError (one line) if unknown.

    Looked up at call time, so tests may swap an entry with monkeypatch.setitem.
    """
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DataError(f"unknown dataset {name!r}: choose one of {known}") from None


def load_dataset(name: str, directory: str | Path | None = None) -> Dataset:
    """Load dataset `name` from `directory` (default: `resolve_data_dir(name, None)`).

    Structural checks (headers, exact sizes, counts, label range), and the official MD5
    of every file that has the official size (`check_official_checksums`); `verify_dataset`
    reports on every file. Raises DataError (one line) for any bad file.
    """
    spec = get_spec(name)
    if directory is None:
        from .paths import resolve_data_dir  # noqa: PLC0415 - paths imports this module

        directory = resolve_data_dir(name, None)
    dataset = spec.loader(spec, Path(directory))
    check_official_checksums(spec, Path(directory))
    return dataset
