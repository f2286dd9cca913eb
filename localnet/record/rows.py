"""The recorder's unflushed rows: one backend buffer per (layer, probe), and the rows' coordinates.

A row is one recorded training step. Buffers hold `chunk` rows and are created on first
sight of a (layer, probe), NaN-filled, so a probe that starts late or skips a step leaves
NaN, never a stale value. `take` hands every filled row to the host with one device ->
host copy and empties the buffers; `state`/`restore` carry the unflushed rows through a
run's checkpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

COORDS = ("step", "epoch", "phase")
Key = tuple[str, str]  # (layer, probe)


class RowBuffers:
    """Rows buffered on `backend` since the last flush: `row` of them, `chunk` at most."""

    def __init__(self, backend: Any, chunk: int) -> None:
        self.backend = backend
        self.xp = backend.xp
        self.chunk = chunk
        self.buffers: dict[Key, Any] = {}
        self.row = 0
        self.coords: dict[str, list[Any]] = {key: [] for key in COORDS}

    def buffer(self, layer: str, probe: str, row_shape: tuple[int, ...]) -> Any:
        """The (chunk, *row_shape) buffer of (layer, probe); index it with `row`."""
        buffer = self.buffers.get((layer, probe))
        if buffer is None:  # created on first sight; earlier rows of the chunk stay NaN
            buffer = self.xp.full((self.chunk, *row_shape), math.nan, dtype=self.backend.dtype)
            self.buffers[(layer, probe)] = buffer
        return buffer

    def end_row(self, step: int, epoch: int, phase: str) -> bool:
        """Close the current row with its coordinates; True when the buffers are full."""
        for key, value in zip(COORDS, (step, epoch, phase)):
            self.coords[key].append(value)
        self.row += 1
        return self.row == self.chunk

    def host_rows(self, rows: int) -> dict[Key, np.ndarray]:
        """The first `rows` rows of every buffer on the host, with one device -> host copy
        of all buffers together (host arrays of their own, not views of the buffers)."""
        keys = list(self.buffers)
        if not keys or rows == 0:
            return {key: np.empty((0, *self.buffers[key].shape[1:]), self.backend.dtype) for key in keys}
        flat = self.xp.concatenate([self.buffers[k][:rows].reshape(rows, -1) for k in keys], axis=1)
        host = self.backend.to_host(flat)  # the one copy (a new array)
        data, column = {}, 0
        for key in keys:
            shape = self.buffers[key].shape[1:]
            size = int(np.prod(shape, dtype=np.int64))
            data[key] = host[:, column:column + size].reshape(rows, *shape)
            column += size
        return data

    def take(self) -> tuple[dict[Key, tuple[int, ...]], dict[str, np.ndarray], dict[Key, np.ndarray]]:
        """Every filled row, on the host: (row shapes, coordinate arrays, data), and empty
        the buffers for the next chunk."""
        shapes = {key: buffer.shape[1:] for key, buffer in self.buffers.items()}
        data = self.host_rows(self.row)
        coords = {"step": np.asarray(self.coords["step"], dtype=np.int64),
                  "epoch": np.asarray(self.coords["epoch"], dtype=np.int64),
                  "phase": np.asarray(self.coords["phase"], dtype=np.dtypes.StringDType())}
        for buffer in self.buffers.values():
            buffer.fill(math.nan)
        self.row = 0
        self.coords = {key: [] for key in COORDS}
        return shapes, coords, data

    # -- checkpoints -----------------------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Host copies of the buffered rows and their coordinates. Keys: "record/coords"
        (JSON text as uint8), "record/buffer/LAYER/PROBE" (rows, ...)."""
        state = {"record/coords": np.frombuffer(json.dumps(self.coords).encode(), dtype=np.uint8)}
        for (layer, probe), rows in self.host_rows(self.row).items():
            state[f"record/buffer/{layer}/{probe}"] = rows
        return state

    @staticmethod
    def first_step(state: Mapping[str, np.ndarray]) -> int | None:
        """The first buffered step of a `state`, or None if it holds no rows (or no recording)."""
        if "record/coords" not in state:
            return None
        buffered = json.loads(state["record/coords"].tobytes().decode())["step"]
        return int(buffered[0]) if buffered else None

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Put back the rows of a `state` (into empty buffers)."""
        if "record/coords" not in state:
            return
        coords = json.loads(state["record/coords"].tobytes().decode())
        self.coords = {key: list(coords[key]) for key in COORDS}
        self.row = len(self.coords["step"])
        for key, value in state.items():
            if key.startswith("record/buffer/"):
                layer, probe = key.removeprefix("record/buffer/").split("/")
                self.buffer(layer, probe, tuple(value.shape[1:]))[:len(value)] = self.backend.to_device(value)
