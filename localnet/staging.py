"""Host-to-device staging: the next batch's copy overlaps the current batch's compute.

`staged(backend, batches)` takes an iterator of host batches (tuples of numpy arrays, e.g.
uint8 images and int64 labels) and yields the same tuples on the backend's device.

- numpy: each array as it is (`to_device` is a view); nothing is read ahead, so the
  iterator is consumed exactly as without staging.
- cupy: before batch k is handed out, batch k + 1 is read from the iterator, copied into
  page-locked (pinned) host buffers and its host-to-device copy is enqueued on a separate
  non-blocking CUDA stream. The compute stream waits (on the GPU, not the host) for a batch's
  copy only when that batch is handed out, so the copy of k + 1 runs while the kernels of k
  do. Device buffers are allocated on the compute stream, and the copy stream first waits
  for an event recorded after that allocation: memory that CuPy's pool hands back is never
  overwritten while an earlier kernel of the compute stream may still read it. Pinned
  buffers are a ring of `ahead + 1` slots; a slot is refilled only after its last copy
  finished (an event sync that is normally long complete).

Reading ahead means the source iterator runs `ahead` batches in front of the consumer: use it
on sources whose batches do not depend on how far the consumer got (the ShardLoader: batch k
depends only on seed, epoch, pass and k), not on ones that keep state per yielded batch.

UNTESTED ON A GPU, like the cupy backend: tests/test_staging.py's gpu test and the imagenet
stage of runners/device_check (images/s with the copy in line, staged, and without it) are
the prepared checks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable
from typing import Any

import numpy as np


def staged(backend: Any, batches: Iterable[tuple[np.ndarray, ...]], ahead: int = 1) -> Generator[tuple[Any, ...]]:
    """Yield each host batch of `batches` as device arrays, copies overlapped on CuPy (see the
    module docstring). Closing the generator closes `batches` (a loader stops its threads)."""
    source = iter(batches)
    try:
        if backend.name != "cupy":
            for batch in source:
                yield tuple(backend.to_device(a) for a in batch)
        else:
            yield from _CupyStager(backend.xp, max(1, ahead)).run(source)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


class _Slot:
    """Pinned host buffers for one batch in flight, and the event its last copy recorded."""

    def __init__(self) -> None:
        self.memory: list[Any] = []  # PinnedMemoryPointer per array, grown as needed
        self.sizes: list[int] = []
        self.done: Any = None  # cuda.Event of the last copy out of these buffers


class _CupyStager:
    def __init__(self, cupy: Any, ahead: int) -> None:
        self.cp = cupy
        self.copy_stream = cupy.cuda.Stream(non_blocking=True)
        self.slots = [_Slot() for _ in range(ahead + 1)]
        self.ahead = ahead

    def run(self, source: Any) -> Generator[tuple[Any, ...]]:
        in_flight: deque[tuple[tuple[Any, ...], Any]] = deque()
        turn = 0
        for _ in range(self.ahead):
            batch = next(source, None)
            if batch is None:
                break
            in_flight.append(self._enqueue(batch, self.slots[turn % len(self.slots)]))
            turn += 1
        while in_flight:
            arrays, ready = in_flight.popleft()
            batch = next(source, None)
            if batch is not None:  # the next copy goes out before this batch's compute is queued
                in_flight.append(self._enqueue(batch, self.slots[turn % len(self.slots)]))
                turn += 1
            self.cp.cuda.get_current_stream().wait_event(ready)
            yield arrays

    def _enqueue(self, batch: tuple[np.ndarray, ...], slot: _Slot) -> tuple[tuple[Any, ...], Any]:
        cuda = self.cp.cuda
        if slot.done is not None:
            slot.done.synchronize()  # this slot's previous copy has left the pinned buffers
        compute = cuda.get_current_stream()
        device = tuple(self.cp.empty(a.shape, dtype=a.dtype) for a in batch)  # from the compute stream's pool
        self.copy_stream.wait_event(compute.record())
        for index, (host, target) in enumerate(zip(batch, device, strict=True)):
            pinned = self._pinned(slot, index, host)
            np.copyto(pinned, host)
            target.set(pinned, stream=self.copy_stream)
        slot.done = self.copy_stream.record()
        return device, slot.done

    def _pinned(self, slot: _Slot, index: int, like: np.ndarray) -> np.ndarray:
        """A pinned numpy array shaped like `like`, in the slot's buffer `index` (grown if short)."""
        nbytes = max(int(like.nbytes), 1)
        if index == len(slot.memory):
            slot.memory.append(None)
            slot.sizes.append(0)
        if slot.sizes[index] < nbytes:
            slot.memory[index] = self.cp.cuda.alloc_pinned_memory(nbytes)
            slot.sizes[index] = nbytes
        return np.ndarray(like.shape, dtype=like.dtype, buffer=slot.memory[index])
