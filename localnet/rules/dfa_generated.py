"""DFA whose feedback matrices are generated, never stored: DFA at ImageNet scale.

Direct feedback alignment (dfa.py) keeps, at every hidden layer l, a fixed random B_l of
shape (output units C, units of l): on the ImageNet LC net that is 1000 x 348,096 values,
1.4 GB in float32, which is what ran the paper's DFA out of memory. This rule uses the
same feedback, e_l = delta_L B_l, but never holds B_l whole. Row c of B_l is drawn from
its own counter-based stream, Philox keyed by SeedSequence((key_l, c)), where key_l is
drawn once from the layer's seeded feedback stream; so B_l is the same matrix at every
step, and the same whatever the tile size. Each step generates B_l `tile_rows` rows at a
time into one (tile_rows, units) buffer and accumulates e_l += delta_L[:, rows] B_l[rows].

It is still DFA: fixed random feedback (U(-a, a), a = feedback_scale sqrt(6 / (C + units)),
DFA's Glorot scale), straight from the output error; nothing about B_l is learned.

Memory: one tile_rows x units buffer, allocated while a layer handles the output error
and freed when it returns, instead of a stored C x units B_l per hidden layer; the engine
handles one message at a time, so at most the largest layer's buffer is live (what `plan`
counts as scratch).
Cost per step: generating C x units uniforms per hidden layer (the matmul is the same as
stored DFA's). docs/performance.md measures both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..messages import Message
from ..registry import RULES
from .base import LayerInfo, StateInit
from .contract import NOTHING, LocalView, Reply, RuleState
from .dfa import DFA, DFAOptions


@dataclass(frozen=True)
class GeneratedDFAOptions(DFAOptions):
    """feedback_scale: as DFA's; tile_rows: rows of B_l generated at once (memory only:
    B_l is the same for every value)."""

    tile_rows: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tile_rows < 1:
            raise ValueError(f"tile_rows must be >= 1, got {self.tile_rows}")


def feedback_rows(key: int, rows: range, units: int, limit: float, dtype: Any, out: np.ndarray | None = None) -> np.ndarray:
    """Rows `rows` of B (len(rows), units): row c is U(-limit, limit) from Philox keyed by
    SeedSequence((key, c)), drawn in `dtype` (float32 or float64) and written into `out`."""
    out = np.empty((len(rows), units), dtype=dtype) if out is None else out[:len(rows)]
    for i, c in enumerate(rows):
        generator = np.random.Generator(np.random.Philox(np.random.SeedSequence((key, c))))
        generator.random(out=out[i], dtype=out.dtype)
    out *= out.dtype.type(2 * limit)
    out -= out.dtype.type(limit)
    return out


@RULES.register("dfa_generated")
class GeneratedDFA(DFA):
    Options = GeneratedDFAOptions

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.keys: dict[str, tuple[int, float, int, int]] = {}  # layer -> (key, limit, units, C), set at build

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        if info.role == "output" or not info.has_params:
            return RuleState()
        key = int(init.rng.integers(2**63))  # from the layer's seeded feedback stream: same on resume
        limit = self.options.feedback_scale * float(np.sqrt(6.0 / (info.output_units + info.units)))
        self.keys[info.name] = (key, limit, info.units, info.output_units)
        return RuleState()

    def materialize(self, name: str, dtype: Any = np.float32) -> np.ndarray:
        """The whole B_l of layer `name` (C, units) as the steps generate it (tests, small nets)."""
        key, limit, units, outputs = self.keys[name]
        return feedback_rows(key, range(outputs), units, limit, dtype)

    def scratch_values(self, name: str) -> int:
        """Values of the tile buffer layer `name` allocates while it handles the output error
        (plan: the largest layer's is the step's peak); 0 where it has no B."""
        if name not in self.keys:
            return 0
        _, _, units, outputs = self.keys[name]
        return min(self.options.tile_rows, outputs) * units

    def handle(self, view: LocalView, message: Message) -> Reply:
        if message.kind == "target":
            return super().handle(view, message)
        if view.name not in self.keys:  # no weights here (flatten): nothing to learn
            return NOTHING
        delta = message.payload  # (B, C) output error
        key, limit, units, outputs = self.keys[view.name]
        xp = _module(delta)
        dtype = np.dtype(delta.dtype)
        rows = min(self.options.tile_rows, outputs)
        buffer = np.empty((rows, units), dtype=dtype)
        error: Any = None  # the backend's array, once the first block is in
        for start in range(0, outputs, rows):
            block = range(start, min(start + rows, outputs))
            tile = feedback_rows(key, block, units, limit, dtype, buffer)
            part = delta[:, start:block.stop] @ (tile if xp is np else xp.asarray(tile))
            error = part if error is None else error.__iadd__(part)
        error = error.reshape(view.h.shape)
        grad = error * view.layer.derivative(view.a, view.h)
        return Reply((), {"forward": view.layer.weight_grads(view.x, grad)})


def _module(array: Any) -> Any:
    from ..backend import array_module  # noqa: PLC0415 - backend loads only when a rule runs

    return array_module(array)
