"""Array backends: numpy on the CPU, CuPy on the GPU, injected, never global.

Everything that allocates receives a `Backend` and uses `backend.xp`; this module is the
only one that imports cupy, and only when asked for it. Host-device copies go through
`to_device` (data in) and `to_host` (recording, metrics, saving), so they are easy to find.

UNTESTED ON A GPU: the cupy backend has not yet run on one; runners/device_check is the
prepared check (docs/performance.md, "Device check").
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ConfigError

ARRAY_BACKENDS = ("numpy", "cupy")  # the array libraries a Backend wraps
BACKENDS = (*ARRAY_BACKENDS, "auto")  # a config's choices; auto: cupy where a GPU is usable, else numpy (resolve_auto)
DTYPES = ("float32", "float64")  # parameter and message dtypes


@dataclass(frozen=True)
class Backend:
    """An array module plus the few operations that differ between libraries.

    name: "numpy" or "cupy"; xp: the array module; dtype: the float dtype of
    parameters and messages (float32 for training, float64 for oracle tests).
    """

    name: str
    xp: ModuleType
    dtype: Any

    def to_device(self, array: np.ndarray) -> Any:
        """Copy a host array to the backend (a no-op view for numpy)."""
        return self.xp.asarray(array)

    def to_host(self, array: Any) -> np.ndarray:
        """Copy a backend array to a host numpy array (a no-op for numpy)."""
        if self.name == "cupy":
            return self.xp.asnumpy(array)
        return np.asarray(array)

    def freeze(self, array: Any) -> Any:
        """Return a read-only view of a message payload so receivers cannot mutate it.

        CuPy has no read-only arrays; there the payload is returned as is.
        """
        if self.name == "numpy":
            view = array.view()
            view.flags.writeable = False
            return view
        return array

    def random(self, seed: int, *names: str) -> Any:
        """A generator on the backend for the named stream (see seeding.rng_for); it has
        `standard_normal(shape, dtype=...)`. Draws on the device, so noise needs no copy."""
        from .seeding import rng_for  # noqa: PLC0415

        host = rng_for(seed, *names)
        if self.name == "cupy":
            return self.xp.random.default_rng(int(host.integers(2**63)))
        return host

    def synchronize(self) -> None:
        """Wait for queued device work (for honest timings); a no-op on numpy."""
        if self.name == "cupy":
            self.xp.cuda.get_current_stream().synchronize()

    def profile(self, fn: Any, repeats: int = 20) -> dict[str, float]:
        """Milliseconds per call of fn, on the host and on the device, after two warm-up calls.

        cupy: cupyx.profiler.benchmark's mean CPU time and mean CUDA-event time per call
        (device time well under host time: the GPU waits for Python and kernel launches).
        numpy: the wall time and this process's CPU time (all threads) per call.
        """
        import time  # noqa: PLC0415

        if self.name == "cupy":
            from cupyx.profiler import benchmark  # noqa: PLC0415

            result = benchmark(fn, n_repeat=repeats, n_warmup=2)
            return {"host_ms": float(result.cpu_times.mean() * 1e3), "device_ms": float(result.gpu_times.mean() * 1e3)}
        for _ in range(2):
            fn()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            fn()
        return {"wall_ms": (time.perf_counter() - wall) * 1e3 / repeats, "cpu_ms": (time.process_time() - cpu) * 1e3 / repeats}

    def memory_held(self) -> int | None:
        """Bytes of device memory CuPy's default pool holds; None on numpy.

        The pool keeps freed blocks for reuse, so after `release_memory()` and a run this is
        the run's high-water mark (rounded up to the pool's block sizes).
        """
        if self.name != "cupy":
            return None
        return int(self.xp.get_default_memory_pool().total_bytes())

    def release_memory(self) -> None:
        """Hand the pool's unused blocks back to the device (a fresh high-water mark); no-op on numpy."""
        if self.name == "cupy":
            self.xp.get_default_memory_pool().free_all_blocks()

    def device_info(self) -> dict[str, Any]:
        """What the backend runs on: for cupy the card's name, compute capability, memory, and
        the CUDA driver, runtime and CuPy versions; for numpy its version and BLAS."""
        if self.name != "cupy":
            return {"backend": "numpy", "numpy": np.__version__}
        cuda = self.xp.cuda
        props = cuda.runtime.getDeviceProperties(cuda.Device().id)
        name = props["name"]

        def version(number: int) -> str:  # CUDA encodes 12.4 as 12040
            return f"{number // 1000}.{number % 1000 // 10}"

        return {"backend": "cupy", "cupy": self.xp.__version__, "gpu": name.decode() if isinstance(name, bytes) else name,
                "compute_capability": f"{props['major']}.{props['minor']}", "gpu_memory_bytes": int(props["totalGlobalMem"]),
                "cuda_driver": version(cuda.runtime.driverGetVersion()),
                "cuda_runtime": version(cuda.runtime.runtimeGetVersion())}


def get_backend(name: str = "numpy", dtype: str = "float32") -> Backend:
    """Return the backend called `name` with parameters of `dtype`.

    Raises ConfigError (one line) for an unknown name, or when cupy is asked for and
    CuPy or a GPU is missing.
    """
    if dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r} is not supported: use {' or '.join(map(repr, DTYPES))}")
    if name == "auto":
        return resolve_auto(dtype)[0]
    if name == "numpy":
        return Backend("numpy", np, np.dtype(dtype))
    if name == "cupy":
        try:
            import cupy  # noqa: PLC0415 - imported lazily on purpose: CPU users need no CuPy
        except ImportError:
            raise ConfigError(
                "backend 'cupy' needs CuPy, which is not installed: "
                "pip install 'localnet[gpu]' on a machine with an NVIDIA GPU, or use --backend numpy"
            ) from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as err:  # CUDA driver missing or broken
            raise ConfigError(
                f"backend 'cupy' found no usable GPU ({type(err).__name__}): use --backend numpy"
            ) from None
        if count < 1:
            raise ConfigError("backend 'cupy' found no GPU on this machine: use --backend numpy")
        return Backend("cupy", cupy, np.dtype(dtype))
    raise ConfigError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")


def resolve_auto(dtype: str = "float32") -> tuple[Backend, str]:
    """backend = "auto": (the cupy Backend, "") where CuPy finds a usable GPU, else (the
    numpy Backend, the reason in a few words) -- the caller says it ran on the CPU."""
    try:
        return get_backend("cupy", dtype), ""
    except ConfigError as err:
        text = str(err)
        reason = "CuPy is not installed" if "not installed" in text else text.split(": use --backend")[0]
        return get_backend("numpy", dtype), reason.removeprefix("backend 'cupy' ")


def array_module(array: Any) -> ModuleType:
    """The array library that owns `array` (numpy or cupy), without importing cupy."""
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        import sys  # noqa: PLC0415 - only for a cupy array

        return sys.modules["cupy"]
    return np
