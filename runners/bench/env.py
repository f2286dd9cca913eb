"""What every benchmark shares: the machine's description, torch's thread count, a timer.

Kept apart from the benchmarks themselves so that they import it, never each other.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StepTimer:
    """A benchmark's timer: calling it times one round (returns examples/second); `one_step`
    runs one untimed training step of the same network (for `backend.profile`)."""

    round: Callable[[], float]
    one_step: Callable[[], None]
    backend: Any

    def __call__(self) -> float:
        return self.round()


def timed(fn: Callable[[], Any], clock: Callable[[], float] = time.perf_counter,
          sync: Callable[[], None] | None = None, calls: int = 1) -> float:
    """Seconds per call of fn, over `calls` calls on `clock` (wall time, or process_time for CPU
    time). sync, where given (a GPU), runs before the clock starts and before it stops, so the
    time covers the queued device work and nothing queued before."""
    if sync is not None:
        sync()
    start = clock()
    for _ in range(calls):
        fn()
    if sync is not None:
        sync()
    return (clock() - start) / calls


def match_torch_threads() -> None:
    """Give torch numpy's BLAS thread count where the environment pins it."""
    import torch  # noqa: PLC0415

    pinned = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if pinned and pinned.isdigit() and int(pinned) > 0:
        torch.set_num_threads(int(pinned))


def torch_device(backend: str) -> str:
    """The torch device that faces localnet's `backend`: "cuda" for cupy, else "cpu"."""
    return "cuda" if backend == "cupy" else "cpu"


def torch_sync(device: str) -> Callable[[], None] | None:
    """torch.cuda.synchronize on a CUDA device, None (nothing to wait for) on the CPU."""
    if device == "cpu":
        return None
    import torch  # noqa: PLC0415

    return torch.cuda.synchronize


def environment(device: str = "cpu") -> dict[str, Any]:
    """The machine and library versions a benchmark ran on; on "cuda" also the card."""
    import torch  # noqa: PLC0415

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {"cpu": cpu, "cores": os.cpu_count(), "numpy": np.__version__, "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    if device != "cpu":
        env.update({"gpu": torch.cuda.get_device_name(), "torch_cuda": torch.version.cuda})
    return env
