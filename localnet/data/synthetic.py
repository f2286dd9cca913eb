"""Tiny fake MNIST-format datasets for tests: same file names, a few random images.

They parse like the real files (so `load_dataset` accepts them) but fail MD5 checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
