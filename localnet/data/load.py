"""`load_dataset`: a registered dataset's arrays, found (data/paths.py), parsed and checked."""

from __future__ import annotations

from pathlib import Path

from .checksum import check_official_checksums
from .paths import resolve_data_dir
from .registry import get_spec
from .spec import Dataset


def load_dataset(name: str, directory: str | Path | None = None) -> Dataset:
    """Load dataset `name` from `directory` (default: `resolve_data_dir(name, None)`).

    Structural checks (headers, exact sizes, counts, label range), and the official MD5
    of every file that has the official size (`check_official_checksums`); `verify_dataset`
    reports on every file. Raises DataError (one line) for any bad file.
    """
    spec = get_spec(name)
    if directory is None:
        directory = resolve_data_dir(name, None)
    dataset = spec.loader(spec, Path(directory))
    check_official_checksums(spec, Path(directory))
    return dataset
