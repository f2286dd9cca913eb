"""User-facing errors: each carries one line that names the problem and the fix.

The CLI catches `LocalnetError` and prints its message without a traceback; anything
else is a bug and keeps its traceback. `friendly_errors` is that wrapper, for every command.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
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


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a click command: a LocalnetError becomes `error: ...` lines and its exit code, Ctrl-C
    exit 130. An interrupted run's message (what was saved, how to continue) is not an error line."""

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

    return wrapper
