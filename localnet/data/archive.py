"""A dataset's published archive (e.g. cifar-10-python.tar.gz): list and extract its files.

Only the members named by the spec (`FileSpec.relpath`) are read, and each is written
to its own path under the data dir, never to a path taken from the archive, so a
hostile archive cannot write elsewhere. Extraction goes to a hidden temp folder first
and each file is moved into place with os.replace only after every wanted member was
read, so an interrupted or failed extraction leaves no partial file under a final name.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..writes import write_error
from .idx import error_summary
from .spec import DatasetSpec, FileSpec, find_archive, missing_files

# Errors that mean the archive itself is bad (gzip.BadGzipFile is an OSError: list it
# so it is not mistaken for a write problem).
CORRUPT = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


def _archive_fix(spec: DatasetSpec, directory: Path) -> str:
    return spec.file_fix(directory).replace(f"official {spec.title} file", "official archive")


def _wanted(spec: DatasetSpec, fspecs: Sequence[FileSpec]) -> dict[str, FileSpec]:
    return {f.relpath: f for f in fspecs}


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's name without a leading "./" (some tar tools add one)."""
    return member.name.removeprefix("./")


def _lacking(spec: DatasetSpec, path: Path, names: Sequence[str], fix: str) -> DataError:
    return DataError(
        f"{spec.title} archive {path} lacks {', '.join(sorted(names))}: {fix}"
    )


def parse_archive(spec: DatasetSpec, fspec: FileSpec, path: Path) -> tuple[bytes, str]:
    """A `FileParser` for the archive (used by verify): reads the whole archive and
    checks that it holds every file of `spec` as a regular file. Returns (b"", summary)."""
    fix = _archive_fix(spec, path.parent)
    wanted = _wanted(spec, spec.files)
    found = set()
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:  # streams the whole archive, so corruption anywhere shows
                if member.isfile() and _member_name(member) in wanted:
                    found.add(_member_name(member))
    except CORRUPT as err:
        raise DataError(
            f"{spec.title} archive {path} is truncated or corrupt ({error_summary(err)}): {fix}"
        ) from None
    except OSError as err:
        raise DataError(f"{spec.title} archive {path} cannot be read ({error_summary(err)}): {fix}") from None
    if missing := set(wanted) - found:
        raise _lacking(spec, path, list(missing), fix)
    return b"", f"archive holding the {len(wanted)} {spec.title} files (extracted on first load)"


def extract_files(
    spec: DatasetSpec, archive: Path, directory: Path, fspecs: Sequence[FileSpec] | None = None
) -> list[Path]:
    """Extract `fspecs` (default: all of spec.files) from the tar `archive` into
    `directory`, each to `directory / fspec.relpath`, replacing what is there.

    All-or-nothing: nothing is moved into place unless every wanted member was read.
    Returns the paths written. Raises DataError (one line) for a corrupt archive, a
    missing member, or a data dir that cannot be written.
    """
    wanted = _wanted(spec, spec.files if fspecs is None else fspecs)
    fix = _archive_fix(spec, directory)
    try:
        tmp_dir = Path(tempfile.mkdtemp(dir=directory, prefix=f".{archive.name}.", suffix=".extract"))
    except OSError as err:
        raise write_error(directory, err, "free some space or choose a writable --data-dir, or extract it there "
                          f"by hand (tar xzf {archive} -C {directory})") from None
    try:  # the finally removes the temp folder on every path, Ctrl-C included
        staged: dict[str, Path] = {}
        try:
            with tarfile.open(archive, mode="r:*") as tar:
                for member in tar:
                    name = _member_name(member)
                    if name not in wanted or name in staged or not member.isfile():
                        continue
                    source = tar.extractfile(member)
                    assert source is not None  # isfile() members always have content
                    staged[name] = tmp_dir / f"{len(staged)}.part"
                    with source, open(staged[name], "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                    if len(staged) == len(wanted):
                        break  # everything wanted is staged: skip the rest of the archive
        except CORRUPT as err:
            raise DataError(
                f"{spec.title} archive {archive} is truncated or corrupt "
                f"({error_summary(err)}): {fix}"
            ) from None
        except OSError as err:
            raise write_error(directory, err, "free some space or choose a writable --data-dir") from None
        if missing := set(wanted) - set(staged):
            raise _lacking(spec, archive, list(missing), fix)
        written = []
        for name, fspec in wanted.items():
            target = directory / fspec.relpath
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged[name], target)
            except OSError as err:
                raise write_error(target, err, "free some space or choose a writable --data-dir") from None
            written.append(target)
        return written
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def extract_missing(spec: DatasetSpec, directory: Path) -> list[Path]:
    """Extract the files of `spec` that `directory` lacks from the archive there, if the
    spec has an archive and it is present (first use of a tarball-only data dir).
    Returns the paths written (empty when nothing is missing or there is no archive)."""
    missing = missing_files(directory, spec)
    archive = find_archive(directory, spec)
    if not missing or archive is None:
        return []
    return extract_files(spec, archive, directory, missing)
