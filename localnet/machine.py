"""What decides a float32 run's bits besides the code and the config: the machine.

OpenBLAS picks its kernels for the CPU it finds (its core name, e.g. "SkylakeX", "Zen"), and
numpy dispatches its loops (tanh, exp, sums) to the widest SIMD target the CPU has (e.g.
"AVX512_SPR", "X86_V3"). Another pair gives other, equally valid, roundings: results are
bit-identical on one platform, not across them. Each run's summary.json names its platform.
"""

from __future__ import annotations

import ctypes
import glob
from pathlib import Path

import numpy as np


def blas_core() -> str:
    """The core name OpenBLAS (numpy's bundled scipy-openblas) chose, or "unknown"."""
    for lib in sorted(glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "libscipy_openblas*.so*"))):
        try:
            get = ctypes.CDLL(lib).scipy_openblas_get_corename64_
        except (OSError, AttributeError):
            continue
        get.restype = ctypes.c_char_p
        return (get() or b"unknown").decode()
    return "unknown"


def simd_target() -> str:
    """The widest SIMD target numpy dispatches to on this CPU, or "baseline"."""
    try:
        from numpy._core import _multiarray_umath as umath  # type: ignore[attr-defined]  # noqa: PLC0415
    except ImportError:  # pragma: no cover - another numpy layout
        return "unknown"
    enabled = [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]
    return enabled[-1] if enabled else "baseline"


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def platform_key() -> str:
    """"BLAS core/SIMD target", e.g. "SkylakeX/AVX512_SPR": runs agree bit for bit within a key."""
    return f"{blas_core()}/{simd_target()}"


def machine() -> dict[str, str]:
    """The platform a run's summary.json records."""
    return {"cpu": cpu_model(), "platform": platform_key()}
