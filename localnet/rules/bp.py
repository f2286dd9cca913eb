"""Backpropagation: the layer above sends W^T delta down. This is weight transport, on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..messages import Message
from ..registry import RULES
from .base import Rule, error_step, label_delta


@dataclass(frozen=True)
class BPOptions:
    """BP has no options."""


@RULES.register("bp")
class BP(Rule):
    Options = BPOptions
    transports_weights = "everywhere"

    def handle(self, node: Any, message: Message) -> Sequence[tuple[str, Any]]:
        if message.kind == "target":  # output layer: labels arrive
            delta = label_delta(node, message)
        else:  # hidden layer: dL/dh from above
            delta = message.payload * node.layer.derivative(node.a, node.h)
        return error_step(node, delta, node.params.get("W"))
