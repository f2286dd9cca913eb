"""Hyperparameter sweeps: search spaces, per-trial sampling, the trials table and early kill.

The library holds the logic; execution backends (a local process pool, Ray) live in
`runners/` and are found through an entry-point group, so this package never imports them.
"""

from .space import Dimension, Space, load_space, parse_space

__all__ = ["Dimension", "Space", "load_space", "parse_space"]
