"""Auxiliary-output SDTP (Bartunov et al. 2018, eq. 3, Algorithm 2).

The output is h_L = [o, z]: o the class distribution, z = tanh(h_{L-1} A + a) fixed random
features of the penultimate layer (never trained; A Glorot-uniform, a zero, held by the
output layer as feedback parameters). The penultimate target is
t_{L-1} = h_{L-1} + g_L([labels, z]) - g_L([o, z]): the same current z on both sides, so
the target for the output is [labels, z]. g_L reads all classes + aux units and trains on
the de-noising loss over the full [o, z].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..registry import RULES
from ..seeding import glorot_uniform
from .base import LayerInfo, StateInit
from .contract import LocalView, RuleState
from .target import TargetOptions, TargetRule


@dataclass(frozen=True)
class AOSDTPOptions(TargetOptions):
    """aux_units: size of z (the paper: 512 on CIFAR-10; its MNIST size is not given)."""

    aux_units: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.aux_units < 1:
            raise ValueError(f"aux_units must be >= 1, got {self.aux_units}")


@RULES.register("aosdtp")
class AOSDTP(TargetRule):
    Options = AOSDTPOptions

    def inverse_out_units(self, info: LayerInfo) -> int:
        return info.units + (self.options.aux_units if info.role == "output" else 0)

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        state = super().init_state(info, init)
        if info.role == "output":  # fixed, never trained: not in any learned group
            backend, rng = init.backend, init.rng
            fan_in, aux = int(np.prod(info.in_shape)), self.options.aux_units
            state.arrays["A"] = backend.to_device(glorot_uniform(rng, (fan_in, aux), fan_in, aux, backend.dtype))
            state.arrays["a"] = backend.xp.zeros(aux, dtype=backend.dtype)
        return state

    def aux(self, view: LocalView, x: Any) -> Any:
        """z = tanh(x A + a), (B, aux_units): fixed random features of the penultimate layer."""
        state = view.state.arrays
        return view.layer.xp.tanh(x.reshape(x.shape[0], -1) @ state["A"] + state["a"])

    def inverse_input(self, view: LocalView, x: Any) -> Any:
        h = view.layer.forward(x)[1]
        if view.role != "output":
            return h
        return view.layer.xp.concatenate([h, self.aux(view, x)], axis=1)

    def output_target(self, view: LocalView, onehot: Any) -> list[tuple[str, Any]]:
        # g([o, z]) = act(o V_o^T + (z V_z^T + c)), V = [V_o | V_z] (inputs x (classes + aux)):
        # z's term is the same on both sides, so it is computed once (one GEMM, no concatenation).
        layer, state, classes = view.layer, view.state.arrays, view.layer.units
        V = state["V"]
        shared = layer.transpose(self.aux(view, view.x), V[:, classes:]) + state["c"]
        target = self.inverse_activate(layer.xp, layer.transpose(onehot, V[:, :classes]) + shared)
        current = self.inverse_activate(layer.xp, layer.transpose(view.h, V[:, :classes]) + shared)
        return [("target", view.x + (target - current))]
