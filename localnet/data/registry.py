"""The dataset registry (name -> DatasetSpec); `load_dataset` (data/load.py) loads one.

The one place dataset names, sizes and class counts are written: the config's allowed
`data.dataset` values, `localnet data fetch/verify` and the docs' table derive from it.
"""

from __future__ import annotations

from ..errors import DataError
from .cifar import CIFAR10
from .downsampled import IMAGENET32, IMAGENET64
from .imagenet_entry import IMAGENET
from .mnist import FASHION_MNIST, IDX, KMNIST, MNIST
from .spec import DatasetSpec

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (MNIST, FASHION_MNIST, KMNIST, IDX, CIFAR10, IMAGENET32, IMAGENET64, IMAGENET)
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
