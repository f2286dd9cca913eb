"""User-facing errors: each carries one line that names the problem and the fix.

The CLI catches `LocalnetError` and prints its message without a traceback; anything
else is a bug and keeps its traceback. `friendly_errors` is that wrapper, for every command.
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


class LocalnetError(Exception):
    """Base class for errors caused by the user's input (config, data, CLI)."""

    exit_code = 1


class ConfigError(LocalnetError):
    """A malformed or invalid experiment config (exit code 2)."""

    exit_code = 2


class DataError(LocalnetError):
    """A missing, truncated or corrupt dataset file, or a failed download."""

    exit_code = 1


class WiringError(ConfigError):
    """Layers and rules whose declared messages do not connect."""


class Interrupted(LocalnetError):
    """The run stopped on SIGINT (Ctrl-C) or SIGTERM; the message says what was saved and
    the command that continues it. Exit code 128 + the signal's number (130, 143), as a
    shell reports a process the signal ended."""

    def __init__(self, message: str, signum: int = 2) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


#: errno -> (cause, fix) of the failures a user can act on
CAUSES = {
    errno.ENOSPC: ("no space left on device", "free some space or choose another --out"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or choose another --out"),
    errno.EROFS: ("read-only file system", "choose a writable --out"),
    errno.EACCES: ("permission denied", "choose a writable --out"),
    errno.EPERM: ("operation not permitted", "choose a writable --out"),
    errno.ENOTDIR: ("a folder on the path is a file", "choose another --out"),
    errno.EEXIST: ("a file is in the way", "choose another --out"),
    errno.EISDIR: ("a folder is in the way", "choose another --out"),
    errno.EFBIG: ("the file is larger than the file system allows", "choose another --out"),
    errno.ELOOP: ("a symbolic link is in the way", "remove the link or choose another --out"),
}
#: errnos that only a write produces: the CLI reports these as a WriteError wherever they arise
WRITE_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


class WriteError(LocalnetError):
    """An output could not be written (one line: path, cause, fix). Exit code 74 (EX_IOERR)."""

    exit_code = 74


def is_write_failure(err: BaseException) -> bool:
    """Whether `err` is a failed write a user can act on (see CAUSES)."""
    return isinstance(err, OSError) and err.errno in CAUSES


def write_error(path: Path | str, err: OSError, fix: str | None = None, then: str = "") -> WriteError:
    """The WriteError for `err` at `path`: "cannot write PATH (cause): fix[; then]"."""
    cause, default_fix = CAUSES.get(err.errno or 0, (err.strerror or str(err), "choose another --out"))
    where = err.filename if err.filename and Path(str(err.filename)) != Path(path) else None
    detail = f"{cause} at {where}" if where else cause
    return WriteError(f"cannot write {path} ({detail}): {fix or default_fix}{'; ' + then if then else ''}")


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a click command: a LocalnetError becomes `error: ...` lines and its exit code, Ctrl-C
    exit 130, a full or read-only disk wherever it is met a WriteError's line (exit 74). An
    interrupted run's message (what was saved, how to continue) is not an error line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Interrupted as err:
            click.echo(str(err), err=True)
            sys.exit(err.exit_code)
        except LocalnetError as err:
            for line in str(err).splitlines():
                click.echo(f"error: {line}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except OSError as err:  # a full or read-only disk at a write no `writing()` names
            if err.errno not in WRITE_ONLY:
                raise
            failed = write_error(err.filename or "an output file", err)
            click.echo(f"error: {failed}", err=True)
            sys.exit(failed.exit_code)

    return wrapper
