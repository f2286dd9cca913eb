"""Run-directory lock: one writer per run directory, named by its pid.

`run.lock` holds the owner's pid. A lock whose pid is no longer alive (a crashed run) is
taken over; a live one is refused with a one-line error.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LocalnetError

LOCK_NAME = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """Context manager holding `directory/run.lock` for the current process."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_NAME

    def __enter__(self) -> RunLock:
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise LocalnetError(f"run directory {self.path.parent} is in use by a running localnet "
                                        f"(pid {owner}): wait for it, or choose another --out") from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            return self

    def owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or "0") or None
        except (OSError, ValueError):
            return None

    def __exit__(self, *exc: object) -> None:
        if self.owner() == os.getpid():
            self.path.unlink(missing_ok=True)
