"""Recording a run: per-layer message and derived probes streamed into a Zarr store.

`RecordConfig` is the `[record]` config section, `Recorder` the observer that taps a
Network's deliveries and is told about each finished step, `RecordReader` reads a store
(`localnet inspect` and `localnet plot` build on it). See docs/recording.md.

Only the config is imported eagerly: localnet.config and the CLI import this package, and
zarr is not needed until something records or reads.
"""

from typing import Any

from .config import DEFAULT_PROBES, MESSAGE_PROBES, PROBES, SERIES_PROBES, RecordConfig

__all__ = ["DEFAULT_PROBES", "MESSAGE_PROBES", "PROBES", "SERIES_PROBES", "STORE_NAME", "RecordConfig",
           "RecordReader", "Recorder"]


def __getattr__(name: str) -> Any:
    if name == "Recorder":
        from .recorder import Recorder  # noqa: PLC0415 - lazy: zarr loads only when recording

        return Recorder
    if name in ("RecordReader", "STORE_NAME"):
        from . import store  # noqa: PLC0415 - lazy: zarr loads only when recording

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
