"""Named, independent random streams derived from one seed.

Each consumer (a layer's init, a rule's feedback matrices, the data order) draws from its
own stream keyed by a name, so adding a consumer, or an observer, changes no other stream.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A host Generator for the stream `names` under `seed` (stable across runs and machines)."""
    key = tuple(zlib.crc32(name.encode()) for name in names)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=key)))


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int,
                   dtype: np.dtype, scale: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010) uniform init: U(-a, a), a = scale * sqrt(6 / (fan_in + fan_out))."""
    limit = scale * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)
