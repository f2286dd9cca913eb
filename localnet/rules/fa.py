"""Feedback alignment (Lillicrap et al. 2016): BP with W^T replaced by a fixed random B^T.

Each layer above the first holds B_l, a fixed random matrix of W_l's shape, and sends
B_l^T delta_l down its feedback channel; no forward weight ever leaves its layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..messages import Message
from ..registry import RULES
from ..seeding import glorot_uniform
from .base import LayerInfo, RandomFeedbackOptions, Rule, StateInit, error_step, label_delta
from .contract import LocalView, Reply, RuleState


@dataclass(frozen=True)
class FAOptions(RandomFeedbackOptions):
    """feedback_scale: scale of each layer's B (of W's shape)."""


@RULES.register("fa")
class FA(Rule):
    Options = FAOptions

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        if info.index == 0 or not info.has_params:  # the first layer sends nothing down; flatten has no W
            return RuleState()
        fan_in, fan_out = info.fans
        B = glorot_uniform(init.rng, info.weight_shape, fan_in, fan_out, init.backend.dtype,
                           self.options.feedback_scale)
        return RuleState({"B": init.backend.to_device(B)})

    def handle(self, view: LocalView, message: Message) -> Reply:
        if message.kind == "target":
            delta = label_delta(view, message)
        else:
            delta = message.payload * view.layer.derivative(view.a, view.h)
        return error_step(view, delta, view.state.arrays.get("B"))
