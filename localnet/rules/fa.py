"""Feedback alignment (Lillicrap et al. 2016): BP with W^T replaced by a fixed random B^T.

Each layer above the first holds B_l, a fixed random matrix of W_l's shape, and sends
B_l^T delta_l down its feedback channel; no forward weight ever leaves its layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import Backend
from ..messages import Message
from ..registry import RULES
from ..seeding import glorot_uniform
from .base import LayerInfo, RandomFeedbackOptions, Rule, error_step, label_delta


@dataclass(frozen=True)
class FAOptions(RandomFeedbackOptions):
    """feedback_scale: scale of each layer's B (of W's shape)."""


@RULES.register("fa")
class FA(Rule):
    Options = FAOptions

    def init_feedback(self, info: LayerInfo, rng: np.random.Generator, backend: Backend) -> dict[str, Any]:
        if info.index == 0 or not info.has_params:  # the first layer sends nothing down; flatten reshapes
            return {}
        fan_in, fan_out = info.fans
        B = glorot_uniform(rng, info.weight_shape, fan_in, fan_out, backend.dtype, self.options.feedback_scale)
        return {"B": backend.to_device(B)}

    def handle(self, node: Any, message: Message) -> Sequence[tuple[str, Any]]:
        if message.kind == "target":
            delta = label_delta(node, message)
        else:
            delta = message.payload * node.layer.derivative(node.a, node.h)
        return error_step(node, delta, node.feedback.get("B"))
