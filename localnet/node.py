"""A layer as an engine node: its math, its parameters, its optimizer and its rule.

The node caches what its own forward pass produced (x = h_{l-1}, a, h = h_l) and hands
every other message to its rule. It holds names of nothing but itself: what it sends goes
out through the channels the builder declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .config import AdamConfig
from .layers.base import Layer
from .messages import Message
from .optim import Adam


class LayerNode:
    """name: e.g. "layer3"; layer: its math and forward params (W, b);
    feedback: fixed or learned parameters of the feedback pathway this layer owns
    (FA's B, DFA's B_l, ...); sends: the message kinds it has outgoing channels for.
    """

    def __init__(self, name: str, layer: Layer, rule: Any, optim: AdamConfig, feedback: dict[str, Any],
                 sends: frozenset[str], learned: tuple[str, ...] = (), inverse_optim: AdamConfig | None = None,
                 rng: Any = None) -> None:
        self.name = name
        self.layer = layer
        self.rule = rule
        self.optimizer = Adam(layer.params, optim, layer.xp)
        self.feedback = feedback
        # Learned feedback parameters (a TP inverse V, c) get their own Adam, as in the paper.
        learned_params = {k: feedback[k] for k in learned if k in feedback}
        self.inverse_optimizer = Adam(learned_params, inverse_optim, layer.xp) if learned_params else None
        self.inverse_grads: dict[str, Any] = {}
        self.rng = rng  # this layer's own noise stream on the backend (TP inverse training)
        self.sends = sends
        self.x: Any = None  # h_{l-1}, the last forward input, (B, *in_shape)
        self.a: Any = None  # pre-activation, (B, *out_shape)
        self.h: Any = None  # activation h_l, (B, *out_shape)
        self.grads: dict[str, Any] = {}  # the last update's gradients, before Adam

    @property
    def params(self) -> dict[str, Any]:
        return self.layer.params

    def handle(self, message: Message) -> Sequence[tuple[str, Any]]:
        if message.kind == "forward":
            self.x = message.payload
            # Outside evaluation a weight update follows, so the layer may keep its patches.
            self.a, self.h = self.layer.forward(message.payload, keep=message.phase != "evaluate")
            self.rule.after_forward(self, message)
            return [("forward", self.h)]
        return self.rule.handle(self, message)

    def update(self, grads: dict[str, Any]) -> None:
        """Apply a local update: keep the gradients for probes, then one Adam step."""
        self.grads = grads
        self.optimizer.step(grads)

    def update_inverse(self, grads: dict[str, Any]) -> None:
        """Apply a local update to the learned feedback parameters (inverse optimizer)."""
        self.inverse_grads = grads
        self.inverse_optimizer.step(grads)


class Readout:
    """The sink of the output layer's forward messages: keeps the last predictions."""

    name = "readout"

    def __init__(self) -> None:
        self.last: Any = None

    def handle(self, message: Message) -> Sequence[tuple[str, Any]]:
        self.last = message.payload
        return ()
