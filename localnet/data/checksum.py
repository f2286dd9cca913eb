"""MD5 helpers and the checksum check every dataset load runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DataError
from .spec import DatasetSpec, FileSpec, find_file


def md5_bytes(data: bytes) -> str:
    """Hex MD5 of `data`."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex MD5 of the file at `path`, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_official_checksums(spec: DatasetSpec, directory: Path) -> None:
    """Raise DataError if a file of `spec` in `directory` has its official byte size but
    not its official MD5 (bit rot, a bad copy). Called on every load, after the loader's
    structural checks: a file of another size (a truncated one fails those checks; a
    re-gzipped copy or a small synthetic file in the same format passes them) is not
    hashed, since its MD5 is not known; nor is a file whose form has no published MD5
    (an uncompressed Fashion-MNIST or KMNIST file, any `idx` file)."""
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            continue
        want, official = fspec.expected_md5(path), fspec.official_size(path)
        if want is None or official is None:
            continue
        if path.stat().st_size == official and md5_file(path) != want:
            data_dir = path.parent.parent if fspec.folder and path.parent.name == fspec.folder else path.parent
            raise DataError(
                f"{spec.title} file {path} has the official size but not the official MD5 "
                f"({want}), so it is corrupt{_other_datasets(spec, fspec)}: {spec.file_fix(data_dir)}"
            )


def _other_datasets(spec: DatasetSpec, fspec: FileSpec) -> str:
    """A hint naming the other registered datasets whose files share this file's name
    and size (a Fashion-MNIST file in an MNIST folder looks exactly like a bad MNIST file)."""
    from .registry import DATASETS  # noqa: PLC0415 - the registry's entries import this module

    others = [s.name for s in DATASETS.values() if s.name != spec.name
              and any(f.name == fspec.name and f.size in (fspec.size, 0) for f in s.files)]
    if not others:
        return ""
    return f" (or it belongs to another dataset with the same file names: set data.dataset to {' or '.join(others)})"
