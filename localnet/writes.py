"""One way to report a write that failed: a full disk, a quota, a read-only or unwritable
folder, or a path whose folder is a file.

Every place localnet writes (run directories, the lock, config.toml, metrics.jsonl,
checkpoints, params.npz, summary.json, the Zarr recorder, sweeps, reports, plots, data)
does so inside `writing(path)`, which turns such an OSError into a one-line `WriteError`
naming the path, the cause and the fix (exit code 74, EX_IOERR of sysexits.h). Any other
OSError is a bug or a hardware fault and keeps its traceback.

Test hook: `LOCALNET_FAIL_WRITES="GLOB[@N][:ERRNO],..."` makes the N-th and every later
`writing()` of a path whose file name matches GLOB (fnmatch; N defaults to 1) fail before it
writes, with ERRNO (a name such as EROFS; default ENOSPC, as a full disk would). The suites
use it to fail each write site in turn, and to stand in for a read-only folder where the
tests run as root (whom permissions do not stop).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import functools
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import CAUSES, WRITE_ONLY, LocalnetError, WriteError, is_write_failure, write_error

__all__ = [
    "CAUSES",
    "WRITE_ONLY",
    "WriteError",
    "append_line",
    "check_space",
    "free_bytes",
    "is_write_failure",
    "make_dirs",
    "refuse_links",
    "reset_injected",
    "write_atomic",
    "write_error",
    "write_text_atomic",
    "writes_to",
    "writing",
]

HOOK = "LOCALNET_FAIL_WRITES"
_seen: dict[str, int] = {}


def _injected(path: Path) -> None:
    spec = os.environ.get(HOOK, "")
    for item in filter(None, (part.strip() for part in spec.split(","))):
        item_spec, _, name = item.partition(":")
        pattern, _, start = item_spec.partition("@")
        if fnmatch.fnmatch(path.name, pattern):
            _seen[item] = _seen.get(item, 0) + 1
            if _seen[item] >= int(start or 1):
                code = getattr(errno, name or "ENOSPC")
                raise OSError(code, f"{os.strerror(code)} ({HOOK})", str(path))


def reset_injected() -> None:
    """Forget how many writes the test hook has counted (a test that runs several commands
    in one process starts each from zero)."""
    _seen.clear()


def writes_to(attribute: str = "path", fix: str | None = None) -> Callable[[Any], Any]:
    """Decorate a method that writes `self.<attribute>`: its body runs inside `writing`."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with writing(getattr(self, attribute), fix):
                return method(self, *args, **kwargs)

        return wrapper

    return decorate


@contextmanager
def writing(path: Path | str, fix: str | None = None, then: str = "") -> Iterator[None]:
    """Run the body, which writes `path`; a failure a user can act on becomes a WriteError
    (`fix` replaces the default advice, `then` is appended, e.g. how to resume)."""
    try:
        _injected(Path(path))
        yield
    except OSError as err:
        if not is_write_failure(err):
            raise
        raise write_error(path, err, fix, then) from None


def write_atomic(path: Path, write: Callable[[Any], None], fix: str | None = None) -> None:
    """Write `path` through a temporary file `.NAME.tmp` in its folder (fsync, then rename):
    a reader (or a killed run) sees the old file or the new one, never half of it.
    A failed write (a full disk, an unwritable folder) removes the temporary file, leaves the
    old file as it was and raises a one-line WriteError."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with writing(path, fix):
        tmp.unlink(missing_ok=True)  # a killed write's leftover, or a planted link (the link goes, not its target)
        try:
            # O_EXCL | O_NOFOLLOW: the temporary file is a new file of ours, never a link's target
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(tmp, flags, 0o644), "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):  # e.g. it was never created
                tmp.unlink()
            raise


def write_text_atomic(path: Path, text: str, fix: str | None = None) -> None:
    """`write_atomic` of UTF-8 text."""
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")), fix)


def make_dirs(path: Path, fix: str | None = None) -> Path:
    """mkdir -p `path` inside `writing`."""
    with writing(path, fix):
        Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


def append_line(handle: Any, path: Path, line: str) -> None:
    """Append one line to `handle`, the unbuffered binary log of `path`; a failed write is
    cut back off (truncating needs no space), so the log never ends in a torn line."""
    data = memoryview((line + "\n").encode())
    start = handle.seek(0, os.SEEK_END)
    with writing(path):
        try:
            while data:
                data = data[handle.write(data):]
        except OSError:
            with contextlib.suppress(OSError):
                handle.truncate(start)
            raise


def refuse_links(folder: Path, names: Iterable[str], what: str = "a run folder") -> None:
    """LocalnetError if any of `names` in `folder` is a symbolic link: localnet writes, replaces
    and clears these, and must never do that to whatever a link points at."""
    for name in names:
        if (Path(folder) / name).is_symlink():
            raise LocalnetError(f"{Path(folder) / name} is a symbolic link: localnet does not write through links "
                                f"in {what}; remove the link, or choose another --out")


def free_bytes(path: Path) -> int | None:
    """Free bytes (for an unprivileged writer) on the file system that holds `path` or, when
    it does not exist yet, its nearest existing parent; None when that cannot be read."""
    here = Path(path).absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return shutil.disk_usage(here).free
    except OSError:
        return None


def size_text(n: int) -> str:
    """Bytes as "1.5 GiB" (TiB, GiB, MiB or KiB)."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 2**10:,.1f} KiB"


def check_space(path: Path, need: int, what: str, force: bool = False) -> None:
    """WriteError if the file system of `path` has less than `need` bytes free (`what` says
    what they are for), unless `force`. Unknown free space passes."""
    free = free_bytes(path)
    if force or free is None or free >= need:
        return
    raise WriteError(f"cannot write {path} (no space left on device: {what} need about {size_text(need)}, "
                     f"{size_text(free)} free): free some space or choose another --out, "
                     "or pass --force to start anyway")
