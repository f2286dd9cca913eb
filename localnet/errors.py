"""User-facing errors: each carries one line that names the problem and the fix.

The CLI catches `LocalnetError` and prints its message without a traceback; anything
else is a bug and keeps its traceback.
"""


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
