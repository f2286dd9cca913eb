"""Keep freed host memory in the process, so that large numpy arrays reuse it.

glibc's malloc serves every block above its mmap threshold (32 MiB at most) with a fresh
`mmap` and hands it back with `munmap` on free. A training step that allocates the same
large arrays every step (an ImageNet-LC layer's weight gradient is hundreds of MiB, its
patch columns tens) then page-faults and zero-fills each of them anew: on the full-size
SDTP net at batch 8 that was 40 % of a CPU step (docs/performance.md, "ImageNet LC at full
size on the CPU"). `keep_freed_memory` makes malloc serve large blocks from its heap and
never trim it, so freed blocks are reused by the next step's arrays of the same sizes.

The cost: the process keeps its high-water mark of host memory until it exits, which is
what a training run holds at its peak anyway. Arrays, their values and every result are
unchanged; only where their memory comes from differs. Elsewhere than glibc (macOS,
musl, Windows) this does nothing. Allocations made by threads other than the main one
still fall back to mmap beyond their arena's size.
"""

from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve large blocks from its heap and keep freed memory.

    Process-wide and idempotent; `localnet run` calls it for the numpy backend (CuPy's
    memory pool already reuses device memory). Returns True if malloc accepted both
    settings, False where the C library is not glibc.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)  # the process's own symbols: glibc's mallopt, no library search
    # mallopt returns 1 on success. Trim threshold -1 (as size_t: the largest) never trims.
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, -1))
