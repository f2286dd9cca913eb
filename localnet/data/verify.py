"""Checksum and parse checks of a dataset's files on disk (`localnet data verify`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import DataError
from .archive import parse_archive
from .checksum import md5_bytes, md5_file
from .idx import is_gzip_path
from .registry import get_spec
from .spec import DatasetSpec, FileParser, FileSpec, find_archive, find_file

Status = Literal["ok", "missing", "md5-mismatch", "corrupt"]


@dataclass(frozen=True)
class FileReport:
    """The verdict on one dataset file.

    path: the file checked (for "missing", the preferred name it should have);
    status: "ok" | "missing" | "md5-mismatch" | "corrupt" (does not parse);
    detail: one line explaining the status, with the fix when it is not ok.
    """

    path: Path
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        """True when the file is present, parses, and has the official checksum."""
        return self.status == "ok"


def check_file(
    spec: DatasetSpec, fspec: FileSpec, directory: Path, parse: FileParser | None = None
) -> FileReport:
    """Verify one file of `spec` in `directory`: present, parses, official MD5.

    A .gz passes if either its own MD5 or its decompressed content's MD5 is official
    (so a file re-gzipped locally is accepted). Parse errors win over MD5 mismatches.
    `parse` replaces spec.parse_file (the archive has its own parser).
    """
    path = find_file(directory, fspec)
    if path is None:
        looked = " and ".join(fspec.candidates)
        return FileReport(
            directory / fspec.download_name, "missing",
            f"not found (looked for {looked} in {directory}): run `{spec.fetch_hint(directory)}`",
        )
    try:
        content, summary = (parse or spec.parse_file)(spec, fspec, path)
    except DataError as err:
        return FileReport(path, "corrupt", str(err))
    want = fspec.expected_md5(path)
    if want is None:
        # No MD5 is published for this form (an uncompressed Fashion-MNIST/KMNIST file,
        # any `idx` file): it parsed, which checks header, exact size and shape.
        return FileReport(path, "ok", f"{summary}; structure checked (no official MD5 is published for "
                                      f"this file in this form)")
    got = md5_file(path)
    if got == want:
        return FileReport(path, "ok", f"md5 {got} ok, {summary}")
    if is_gzip_path(path) and fspec.md5 is not None and md5_bytes(content) == fspec.md5:
        return FileReport(path, "ok", f"content md5 {fspec.md5} ok (re-gzipped copy), {summary}")
    size = path.stat().st_size
    official = fspec.official_size(path)
    return FileReport(
        path, "md5-mismatch",
        f"md5 {got} is not the official {want} ({size} bytes, official "
        f"{official or 'unknown'}; parses as {summary}): {spec.file_fix(directory)}",
    )


def verify_dataset(name: str, directory: str | Path) -> list[FileReport]:
    """One FileReport per file of dataset `name` in `directory`, in registry order.

    When the dataset has an archive (CIFAR-10) and it is present, files missing from
    `directory` are not reported (loading extracts them); the archive is reported
    last instead, checked for its MD5 and for holding every file.
    Never raises for bad files (they become reports); raises DataError only for an
    unknown dataset name. Reads and decompresses every file (about 0.5 s for MNIST).
    """
    spec = get_spec(name)
    directory = Path(directory)
    archive = find_archive(directory, spec)
    reports = [
        check_file(spec, fspec, directory)
        for fspec in spec.files
        if archive is None or find_file(directory, fspec) is not None
    ]
    if spec.archive is not None and archive is not None and len(reports) < len(spec.files):
        reports.append(check_file(spec, spec.archive, directory, parse=parse_archive))
    return reports

