"""BLAS/OpenMP threads of a run, set at run time through threadpoolctl.

The `threads` setting (config key `threads`, `localnet run --threads N`) limits every
thread pool numpy's BLAS (and any OpenMP library) opens, while the run trains; 0 means
every core this process may use. Environment variables such as OPENBLAS_NUM_THREADS act
only if set before numpy loads; threadpoolctl works whenever it is called.

The default is 1 thread (docs/design.md, "Threads"; measured in docs/performance.md):
a training step's GEMMs are small (a minibatch times a layer), so extra threads gain
little on an idle machine, and on a busy one OpenBLAS's threads wait for each other at
every GEMM and an epoch can take ten times longer or more.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from .errors import ConfigError

DEFAULT_THREADS = 1


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: how many threads per core a setting may ask for before it is refused
OVERSUBSCRIBE = 4


def resolve_threads(setting: int) -> int:
    """The thread count a `threads` setting means: 0 -> every available core. More than
    OVERSUBSCRIBE times the cores this process may use is a ConfigError (a typo, not a
    setting: such threads only contend)."""
    cores = available_cores()
    if setting > OVERSUBSCRIBE * cores:
        raise ConfigError(f"threads = {setting} is far more than the {cores} core{'s' if cores != 1 else ''} this "
                          f"process may use: set at most {cores} (or 0 for all of them)")
    return cores if setting == 0 else setting


def describe_threads(count: int) -> str:
    return f"{count} thread{'' if count == 1 else 's'}"


def limit_threads(count: int) -> AbstractContextManager[object]:
    """A context in which BLAS and OpenMP use at most `count` threads (restored after)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    return threadpool_limits(limits=count)
