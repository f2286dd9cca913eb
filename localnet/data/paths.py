"""Where a dataset's files live: --data-dir, then $LOCALNET_DATA, the cache, the repo copy."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .registry import get_spec
from .spec import DatasetSpec, find_archive, missing_files

ENV_VAR = "LOCALNET_DATA"


def default_fetch_dir(name: str) -> Path:
    """The per-user cache folder for dataset `name`: $XDG_CACHE_HOME/localnet/<name>,
    or ~/.cache/localnet/<name> when XDG_CACHE_HOME is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "localnet" / name


def shipped_data_dir(name: str) -> Path:
    """The copy shipped in a source checkout / editable install: <repo>/data/<name>.

    Computed from this file (localnet/data/paths.py -> parents[2] is the repo root),
    which equals Path(localnet.__file__).resolve().parents[1] / "data" / name.
    """
    return Path(__file__).resolve().parents[2] / "data" / name


def is_present(directory: Path, spec: DatasetSpec) -> bool:
    """True when `directory` holds every file of `spec` (each in any accepted form),
    or the archive they come in (loading extracts them from it)."""
    if not directory.is_dir():
        return False
    return not missing_files(directory, spec) or find_archive(directory, spec) is not None


def _search_user_dir(root: Path, spec: DatasetSpec, source: str, fix: str) -> Path:
    """`root` or `root/<name>`, whichever holds all files; else a one-line DataError.

    `source` says where `root` came from ("--data-dir", "$LOCALNET_DATA") in messages.
    """
    root = root.expanduser()
    if not root.is_dir():
        problem = "is not a directory" if root.exists() else "does not exist"
        raise DataError(f"{source} {root} {problem}: {fix}")
    for candidate in (root, root / spec.name):
        if is_present(candidate, spec):
            return candidate
    # Report what is missing from the more complete of the two candidates.
    sub = root / spec.name
    best = min((root, sub), key=lambda d: len(missing_files(d, spec)) if d.is_dir() else 1 << 30)
    absent = missing_files(best, spec)
    labels = [f.label for f in absent]
    if len(set(labels)) < len(labels):  # same name in several folders (ImageNet's manifests)
        labels = [f"{f.folder}/{f.label}" if f.folder else f.label for f in absent]
    missing = ", ".join(labels)
    if spec.archive is not None:
        missing += f" (or the archive {spec.archive.name})"
    raise DataError(
        f"{source} {root} does not hold the {spec.title} files "
        f"(looked in {root} and {sub}; missing in {best}: {missing}): {fix}"
    )


def resolve_data_dir(name: str, explicit: str | Path | None = None) -> Path:
    """The directory holding dataset `name`'s files, searched in this order:

    1. `explicit` (the CLI's --data-dir): D or D/<name> must hold all files, else DataError;
    2. $LOCALNET_DATA when set and non-empty, with the same rule;
    3. the user cache, default_fetch_dir(name), if all files are there;
    4. the repo's shipped copy, shipped_data_dir(name), if all files are there.
    Raises DataError (one line) naming the places searched and the fix.
    """
    spec = get_spec(name)
    if explicit is not None and str(explicit) != "":
        root = Path(explicit)
        fix = spec.get_hint(root)
        return _search_user_dir(root, spec, "--data-dir", fix)
    env = os.environ.get(ENV_VAR, "")
    if env:
        root = Path(env)
        fix = f"{spec.get_hint(root)}; or unset {ENV_VAR}"
        return _search_user_dir(root, spec, f"${ENV_VAR}", fix)
    looked = []
    for candidate in (default_fetch_dir(name), shipped_data_dir(name)):
        if is_present(candidate, spec):
            return candidate
        looked.append(str(candidate))
    raise DataError(
        f"{spec.title} files not found (--data-dir and ${ENV_VAR} not set; looked in "
        f"{' and '.join(looked)}): {spec.get_hint()}"
    )
