"""A layer as an engine node: its math, its parameters, its optimizer, its rule and the rule's state.

The node caches what its own forward pass produced (x = h_{l-1}, a, h = h_l), hands every
other message to its rule as a `LocalView` of this layer, and applies the gradients the rule
returns, each parameter group with its own Adam. It holds names of nothing but itself: what
it sends goes out through the channels the builder declared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .config import AdamConfig
from .layers.base import Layer
from .messages import Message
from .optim import Adam
from .rules.base import Rule
from .rules.contract import FORWARD, LocalView, Reply, RuleState


class LayerNode:
    """name: e.g. "layer3"; index, role: its position; layer: its math and forward params
    (W, b); rule: the learning rule; optim: the forward Adam settings; state: what the rule
    keeps at this layer (fixed feedback, learned inverses with their optimizers, a noise
    stream); sends: the message kinds it has outgoing channels for.
    """

    def __init__(self, name: str, index: int, role: str, layer: Layer, rule: Rule, optim: AdamConfig,
                 state: RuleState, sends: frozenset[str]) -> None:
        self.name = name
        self.index = index
        self.role = role
        self.layer = layer
        self.rule = rule
        self.optimizer = Adam(layer.params, optim, layer.xp)
        self.state = state
        self.sends = sends
        self.x: Any = None  # h_{l-1}, the last forward input, (B, *in_shape)
        self.a: Any = None  # pre-activation, (B, *out_shape)
        self.h: Any = None  # activation h_l, (B, *out_shape)
        self.grads: dict[str, Any] = {}  # the last forward update's gradients, before Adam

    @property
    def params(self) -> dict[str, Any]:
        return self.layer.params

    def view(self) -> LocalView:
        """What the rule may see of this layer."""
        return LocalView(self.name, self.index, self.role, self.layer, self.x, self.a, self.h, self.layer.params,
                         self.state, self.sends)

    def optimizers(self) -> Iterator[tuple[str, Adam]]:
        """(group name, Adam) for the forward group and each learned group of the rule state."""
        yield FORWARD.name, self.optimizer
        yield from self.state.optimizers.items()

    def handle(self, message: Message) -> Sequence[tuple[str, Any]]:
        if message.kind == "forward":
            self.x = message.payload
            # Outside evaluation a weight update follows, so the layer may keep its patches.
            self.a, self.h = self.layer.forward(message.payload, keep=message.phase != "evaluate")
            self.apply(self.rule.after_forward(self.view(), message))
            return [("forward", self.h)]
        reply = self.rule.handle(self.view(), message)
        self.apply(reply)
        return reply.messages

    def apply(self, reply: Reply) -> None:
        """Apply a reply's gradients: keep them for probes, then one Adam step per group
        (a group with no gradients, e.g. a parameter-free layer's, takes no step)."""
        for group, grads in reply.grads.items():
            if not grads:
                continue
            if group == FORWARD.name:
                self.grads = dict(grads)
                self.optimizer.step(self.grads)
            else:
                self.state.grads[group] = dict(grads)
                self.state.optimizers[group].step(self.state.grads[group])


class Readout:
    """The sink of the output layer's forward messages: keeps the last predictions."""

    name = "readout"

    def __init__(self) -> None:
        self.last: Any = None

    def handle(self, message: Message) -> Sequence[tuple[str, Any]]:
        self.last = message.payload
        return ()
