"""Direct feedback alignment (Nokland 2016): the output error goes straight to every hidden layer.

The output layer broadcasts delta_L = dL/da_L over one declared channel per hidden layer.
Hidden layer l holds a fixed random B_l of shape (output units, units of l) and uses
e_l = delta_L B_l in place of dL/dh_l. Hidden layers send nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..messages import Channel, Message
from ..registry import RULES
from ..seeding import glorot_uniform
from .base import LayerInfo, RandomFeedbackOptions, Rule, StateInit, label_delta
from .contract import NOTHING, LocalView, Reply, RuleState


@dataclass(frozen=True)
class DFAOptions(RandomFeedbackOptions):
    """feedback_scale: scale of each hidden layer's B_l (output units x layer units)."""


@RULES.register("dfa")
class DFA(Rule):
    Options = DFAOptions
    emits: ClassVar[dict[str, frozenset[str]]] = {
        "hidden": frozenset({"forward"}), "output": frozenset({"forward", "feedback"})}

    def channels(self, layers: Sequence[LayerInfo]) -> list[Channel]:
        output = layers[-1]
        # Top-down priority so deliveries run in the same order as FA/BP would visit layers.
        return [Channel(output.name, hidden.name, "feedback", priority=len(layers) - hidden.index)
                for hidden in layers[:-1]]

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        if info.role == "output" or not info.has_params:  # a layer without weights learns nothing
            return RuleState()
        B = glorot_uniform(init.rng, (info.output_units, info.units), info.output_units, info.units,
                           init.backend.dtype, self.options.feedback_scale)
        return RuleState({"B": init.backend.to_device(B)})

    def handle(self, view: LocalView, message: Message) -> Reply:
        if message.kind == "target":  # output: learn from labels, broadcast the error itself
            delta = label_delta(view, message)
            return Reply((("feedback", delta),), {"forward": view.layer.weight_grads(view.x, delta)})
        B = view.state.arrays.get("B")
        if B is None:  # no weights here (flatten): no B was made, nothing to learn
            return NOTHING
        error = (message.payload @ B).reshape(view.h.shape)
        delta = error * view.layer.derivative(view.a, view.h)
        return Reply((), {"forward": view.layer.weight_grads(view.x, delta)})
