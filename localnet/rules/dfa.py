"""Direct feedback alignment (Nokland 2016): the output error goes straight to every hidden layer.

The output layer broadcasts delta_L = dL/da_L over one declared channel per hidden layer.
Hidden layer l holds a fixed random B_l of shape (output units, units of l) and uses
e_l = delta_L B_l in place of dL/dh_l. Hidden layers send nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import Backend
from ..messages import Channel, Message
from ..registry import RULES
from ..seeding import glorot_uniform
from .base import LayerInfo, RandomFeedbackOptions, Rule, error_step, label_delta


@dataclass(frozen=True)
class DFAOptions(RandomFeedbackOptions):
    """feedback_scale: scale of each hidden layer's B_l (output units x layer units)."""


@RULES.register("dfa")
class DFA(Rule):
    Options = DFAOptions
    emits = {"hidden": frozenset({"forward"}), "output": frozenset({"forward", "feedback"})}

    def channels(self, layers: Sequence[LayerInfo]) -> list[Channel]:
        output = layers[-1]
        # Top-down priority so deliveries run in the same order as FA/BP would visit layers.
        return [Channel(output.name, hidden.name, "feedback", priority=len(layers) - hidden.index)
                for hidden in layers[:-1]]

    def init_feedback(self, info: LayerInfo, rng: np.random.Generator, backend: Backend) -> dict[str, Any]:
        if info.role == "output" or not info.has_params:
            return {}
        B = glorot_uniform(rng, (info.output_units, info.units), info.output_units, info.units,
                           backend.dtype, self.options.feedback_scale)
        return {"B": backend.to_device(B)}

    def handle(self, node: Any, message: Message) -> Sequence[tuple[str, Any]]:
        if message.kind == "target":  # output: learn from labels, broadcast the error itself
            delta = label_delta(node, message)
            out = [("feedback", delta)]
            node.update(node.layer.weight_grads(node.x, delta))
            return out
        if not node.params:  # a parameter-free layer (flatten) has nothing to learn
            return []
        error = (message.payload @ node.feedback["B"]).reshape(node.h.shape)
        return error_step(node, error * node.layer.derivative(node.a, node.h), None)
