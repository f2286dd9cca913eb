"""Backpropagation: the layer above sends W^T delta down. This is weight transport, on purpose."""

from __future__ import annotations

from dataclasses import dataclass

from ..messages import Message
from ..registry import RULES
from .base import Rule, error_step, label_delta
from .contract import LocalView, Reply


@dataclass(frozen=True)
class BPOptions:
    """BP has no options."""


@RULES.register("bp")
class BP(Rule):
    Options = BPOptions
    transports_weights = "everywhere"

    def handle(self, view: LocalView, message: Message) -> Reply:
        if message.kind == "target":  # output layer: labels arrive
            delta = label_delta(view, message)
        else:  # hidden layer: dL/dh from above
            delta = message.payload * view.layer.derivative(view.a, view.h)
        return error_step(view, delta, view.params.get("W"))
