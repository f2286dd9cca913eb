"""Datasets: the registry (MNIST, Fashion-MNIST, KMNIST, idx, CIFAR-10, ...), IDX reading,
locating, verifying and fetching files (docs/data.md).

Public API:
    Dataset                                   uint8 (N, H, W, C) inputs, int64 (N,) labels
    DATASETS                                  registry: name -> DatasetSpec
    load_dataset(name, directory=None)        -> Dataset (structural checks; MD5 of official-size files)
    resolve_data_dir(name, explicit=None)     -> Path (--data-dir > $LOCALNET_DATA > cache > repo)
    verify_dataset(name, directory)           -> list[FileReport] (MD5 + parse)
    fetch_dataset(name, directory=None, ...)  -> list[Path] written
Every problem with a file or a download raises a one-line `DataError`.
"""

from .fetch import fetch_dataset
from .idx import read_idx, write_idx
from .load import load_dataset
from .paths import ENV_VAR, default_fetch_dir, resolve_data_dir, shipped_data_dir
from .registry import DATASETS, get_spec
from .spec import Dataset, DatasetSpec, FileSpec
from .verify import FileReport, verify_dataset

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "Dataset",
    "DatasetSpec",
    "FileReport",
    "FileSpec",
    "default_fetch_dir",
    "fetch_dataset",
    "get_spec",
    "load_dataset",
    "read_idx",
    "resolve_data_dir",
    "shipped_data_dir",
    "verify_dataset",
    "write_idx",
]
