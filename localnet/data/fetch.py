"""Download a dataset's files from its mirrors with urllib (`localnet data fetch`).

Each file is streamed to a hidden temp file in the target folder, its MD5 checked,
and only then renamed into place with os.replace (atomic on one filesystem), so an
interrupted or bad download never leaves a partial file under the final name.
A dataset published as one archive (CIFAR-10) has that archive downloaded the same
way, kept, and the files extracted from it (archive.py, also atomic).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ..errors import DataError
from ..writes import write_error
from .archive import extract_files
from .checksum import md5_file
from .idx import error_summary
from .paths import ENV_VAR, default_fetch_dir
from .registry import get_spec
from .spec import DatasetSpec, FileSpec, find_archive, find_file
from .verify import check_file

USER_AGENT = "localnet-data-fetch (python urllib)"
CHUNK = 1 << 16
# Errors that mean "this mirror failed, try the next one": network, HTTP, bad URL.
MIRROR_ERRORS = (OSError, http.client.HTTPException, ValueError)


def fetch_dataset(
    name: str,
    directory: str | Path | None = None,
    timeout: float = 30.0,
    mirrors: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download the files of dataset `name` that are missing or bad into `directory`.

    directory: default default_fetch_dir(name) (the user cache), created if needed;
    timeout: seconds per network operation (connect / each read) per mirror;
    mirrors: base URLs to try in order instead of the spec's (http(s):// or file://);
    log: optional callback receiving one progress line per file.
    Files already present with the official MD5 are skipped; for a dataset with an
    archive, the others are extracted from the archive (downloaded unless present with
    the official MD5, and kept). Returns the paths written (empty if nothing was
    needed). Raises DataError (one line) if a file cannot be fetched from any mirror;
    files fetched before it are kept.
    """
    spec = get_spec(name)
    target_dir = Path(directory).expanduser() if directory is not None else default_fetch_dir(name)
    bases = tuple(mirrors) if mirrors is not None else spec.mirrors
    if not bases:
        raise DataError(f"{spec.title} has no download: {spec.obtain or 'copy its files into ' + str(target_dir)}")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(target_dir, err, "free some space or choose a writable --data-dir") from None
    say = log or (lambda line: None)
    written = []
    todo = []
    for fspec in spec.files:
        if find_file(target_dir, fspec) is not None:
            report = check_file(spec, fspec, target_dir)
            if report.ok:
                say(f"{report.path}: already present, md5 ok")
                continue
            say(f"{report.path}: {report.status}, {'extracting' if spec.archive else 'downloading'} again")
        todo.append(fspec)
    if spec.archive is not None:
        return _fetch_from_archive(spec, spec.archive, todo, target_dir, bases, timeout, say)
    for fspec in todo:
        path = download_file(spec, fspec, target_dir, bases, timeout)
        say(f"{path}: downloaded, md5 ok")
        written.append(path)
    return written


def _fetch_from_archive(
    spec: DatasetSpec, archive: FileSpec, todo: list[FileSpec], directory: Path,
    bases: Sequence[str], timeout: float, say: Callable[[str], None],
) -> list[Path]:
    """Extract `todo` from the dataset's archive in `directory`, downloading the archive
    first unless it is there with the official MD5. Returns the paths written."""
    if not todo:
        return []
    written = []
    path = find_archive(directory, spec)
    if path is not None and md5_file(path) == archive.md5:
        say(f"{path}: already present, md5 ok")
    else:
        path = download_file(spec, archive, directory, bases, timeout)
        say(f"{path}: downloaded, md5 ok")
        written.append(path)
    for fspec, extracted in zip(todo, extract_files(spec, path, directory, todo), strict=True):
        report = check_file(spec, fspec, directory)
        if not report.ok:  # an official archive holds official files: the spec is wrong
            raise DataError(f"{extracted} (extracted from {path}) failed verification: {report.detail}")
        say(f"{extracted}: extracted, md5 ok")
        written.append(extracted)
    return written


def download_file(
    spec: DatasetSpec, fspec: FileSpec, directory: Path, bases: Sequence[str], timeout: float
) -> Path:
    """Fetch `fspec.download_name` from the first mirror in `bases` that serves it with
    the official MD5; return its final path. Raises DataError if none does."""
    target = directory / fspec.download_name
    want = fspec.expected_md5(target)
    reasons = []
    for base in bases:
        url = base.rstrip("/") + "/" + fspec.download_name
        try:
            fd, tmp_name = tempfile.mkstemp(
                dir=directory, prefix=f".{target.name}.", suffix=".part"
            )
        except OSError as err:
            raise write_error(directory, err, "free some space or choose a writable --data-dir") from None
        tmp = Path(tmp_name)
        try:  # the finally removes the temp file on every path, Ctrl-C included
            try:
                with os.fdopen(fd, "wb") as out:
                    got, size = _stream(url, out, timeout)
            except MIRROR_ERRORS as err:
                reasons.append(f"{_where(url)}: {_short(err)}")
                continue
            if got != want:
                reasons.append(f"{_where(url)}: md5 {got} != {want} ({size} bytes)")
                continue
            try:
                os.replace(tmp, target)
            except OSError as err:
                raise write_error(target, err, "free some space or choose a writable --data-dir") from None
            return target
        finally:
            tmp.unlink(missing_ok=True)  # no-op after a successful os.replace
    raise DataError(
        f"could not download {fspec.download_name} from any mirror ({'; '.join(reasons)}): "
        f"check the network, or copy the official {spec.title} files into {directory} "
        f"(or point --data-dir / {ENV_VAR} at them)"
    )


def _stream(url: str, out: BinaryIO, timeout: float) -> tuple[str, int]:
    """Copy `url` into the open binary file `out`; return (hex MD5, byte count)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        while block := response.read(CHUNK):
            digest.update(block)
            out.write(block)
            size += len(block)
    return digest.hexdigest(), size


def _where(url: str) -> str:
    """The mirror's host for messages (the whole URL for file:// mirrors)."""
    return urlsplit(url).netloc or url


def _short(err: BaseException, limit: int = 120) -> str:
    """One short line describing a download error (URLError unwrapped to its reason)."""
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        inner = err.reason
        text = error_summary(inner) if isinstance(inner, BaseException) else f"URLError: {inner}"
    else:
        text = error_summary(err)
    text = " ".join(text.split())  # collapse any newlines a server or OS put in
    return text if len(text) <= limit else text[: limit - 3] + "..."
