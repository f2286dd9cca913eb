"""The dataset registry (name -> DatasetSpec) and `load_dataset`."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .cifar import CIFAR10
from .mnist import MNIST
from .spec import Dataset, DatasetSpec
from .checksum import check_official_checksums

DATASETS: dict[str, DatasetSpec] = {MNIST.name: MNIST, CIFAR10.name: CIFAR10}


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
