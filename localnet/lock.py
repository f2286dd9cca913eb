"""Run-directory lock: one writer per run directory.

`run.lock` is held with flock(2) for as long as a run writes the directory, and holds the
owner's pid for error messages. The kernel drops the lock when its process ends, however
it ends (SIGKILL included), so a crashed run's lock is simply taken over, with no guessing
from pids (which get reused). A live one is refused with a one-line error. Where flock is
missing (not POSIX), an exclusively created file named by a live pid is the lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LocalnetError
from .writes import writing

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

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
    """Context manager holding `directory/run.lock` (or `name`: a sweep holds `sweep.lock`)
    for the current process; `what` names the directory in the "in use" error."""

    def __init__(self, directory: Path, name: str = LOCK_NAME, what: str = "run directory") -> None:
        self.path = Path(directory) / name
        self.what = what
        self._fd: int | None = None

    def _in_use(self) -> LocalnetError:
        owner = self.owner()
        who = f" (pid {owner})" if owner else ""
        return LocalnetError(f"{self.what} {self.path.parent} is in use by a running localnet{who}: "
                             "wait for it, or choose another --out")

    def __enter__(self) -> RunLock:
        if fcntl is None:  # pragma: no cover - not POSIX
            return self._enter_exclusive()
        while True:
            with writing(self.path):  # O_NOFOLLOW: a planted symlink cannot redirect the pid write
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self._in_use() from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:  # its previous holder removed the file while we opened it: lock the new one
                os.close(fd)
                continue
            try:
                with writing(self.path):
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
            except BaseException:
                os.close(fd)  # the lock goes with it
                raise
            self._fd = fd
            return self

    def check_free(self) -> None:
        """Raise the one-line "in use" error if another process holds the lock now; creates nothing."""
        if fcntl is None:  # pragma: no cover - not POSIX
            owner = self.owner() if self.path.exists() else None
            if owner is not None and owner != os.getpid() and _alive(owner):
                raise self._in_use()
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:  # no lock file: nobody holds it
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise self._in_use() from None
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or "0") or None
        except (OSError, ValueError):
            return None

    def __exit__(self, *exc: object) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            if self.owner() == os.getpid():
                self.path.unlink(missing_ok=True)
            return
        if self._fd is None:
            return
        try:
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                self.path.unlink()  # while still holding it: a waiting opener sees the inode change
        except FileNotFoundError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None

    def _enter_exclusive(self) -> RunLock:  # pragma: no cover - not POSIX
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise self._in_use() from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            return self
