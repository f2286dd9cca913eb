"""MD5 helpers and the checksum check every dataset load runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import DataError
from .idx import is_gzip_path
from .spec import DatasetSpec, find_file


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
    hashed, since its MD5 is not known."""
    for fspec in spec.files:
        path = find_file(directory, fspec)
        if path is None:
            continue
        gz = is_gzip_path(path) and fspec.gz_size is not None
        official = fspec.gz_size if gz else fspec.size
        if path.stat().st_size == official and md5_file(path) != fspec.expected_md5(path):
            data_dir = path.parent.parent if fspec.folder and path.parent.name == fspec.folder else path.parent
            raise DataError(
                f"{spec.title} file {path} has the official size but not the official MD5 "
                f"({fspec.expected_md5(path)}), so it is corrupt: {spec.file_fix(data_dir)}"
            )
