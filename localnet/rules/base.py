"""What a learning rule declares, and the error-propagation step BP, FA and DFA share.

A rule is stateless: the per-layer state it needs (fixed feedback matrices, inverses)
lives in each node's `feedback` dict, made by `init_feedback` at build time. A rule
declares, per role ("hidden" or "output"), the message kinds a node consumes and emits,
the extra channels it needs, and whether it transports forward weights; the builder
checks the wiring against these declarations before anything runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backend import Backend
from ..messages import Channel, Message
from ..schedule import ERROR_FEEDBACK, StepPlan


@dataclass(frozen=True)
class LayerInfo:
    """What the builder tells a rule about one layer: position and shapes, no references."""

    name: str
    index: int  # 0-based position from the input side
    count: int  # number of layers in the network
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]  # () for a parameter-free layer (flatten)
    output_units: int  # units of the network's output layer
    fans: tuple[int, int] = (1, 1)  # the layer's Glorot (fan_in, fan_out)

    @property
    def has_params(self) -> bool:
        return bool(self.weight_shape)

    @property
    def role(self) -> str:
        return "output" if self.index == self.count - 1 else "hidden"

    @property
    def units(self) -> int:
        return int(np.prod(self.out_shape))


class Rule:
    """Base class. Subclasses set name-independent declarations and implement `handle`."""

    Options: ClassVar[type]
    #: where the rule sends forward weights down a feedback pathway: "everywhere", "penultimate" or "never"
    transports_weights: ClassVar[str] = "never"
    consumes: ClassVar[dict[str, frozenset[str]]] = {
        "hidden": frozenset({"forward", "feedback"}), "output": frozenset({"forward", "target"})}
    emits: ClassVar[dict[str, frozenset[str]]] = {
        "hidden": frozenset({"forward", "feedback"}), "output": frozenset({"forward", "feedback"})}
    #: feedback parameters (keys of node.feedback) that learn, with the inverse optimizer
    learned_feedback: ClassVar[tuple[str, ...]] = ()
    #: layer types (registry names) the rule can run on; None: every registered type.
    #: Checked when a config is parsed, so a mismatch is a config error, not a crash mid-run.
    layer_types: ClassVar[frozenset[str] | None] = None

    def __init__(self, options: Any) -> None:
        self.options = options

    def passes(self) -> tuple[StepPlan, ...]:
        """The passes over the training set that make one epoch, each a plan of phases per step."""
        return ERROR_FEEDBACK

    def channels(self, layers: Sequence[LayerInfo]) -> list[Channel]:
        """Feedback/target channels beyond the forward chain. Default: each layer to the one below."""
        return [Channel(upper.name, lower.name, "feedback") for lower, upper in zip(layers, layers[1:])]

    def init_feedback(self, info: LayerInfo, rng: np.random.Generator, backend: Backend) -> dict[str, Any]:
        """Feedback parameters held by the layer `info` (none by default)."""
        return {}

    def after_forward(self, node: Any, message: Message) -> None:
        """Called once a node has computed its forward pass for `message` (a hook for local
        learning during a forward sweep, e.g. TP inverses in "inverse" phases)."""

    def handle(self, node: Any, message: Message) -> Sequence[tuple[str, Any]]:
        raise NotImplementedError


@dataclass(frozen=True)
class RandomFeedbackOptions:
    """Options of rules with fixed random feedback matrices (FA, DFA): feedback_scale
    multiplies the Glorot-uniform limit of each B (the paper does not give B's scale)."""

    feedback_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.feedback_scale > 0:
            raise ValueError(f"feedback_scale must be > 0, got {self.feedback_scale}")


def error_step(node: Any, delta: Any, down: Any | None) -> list[tuple[str, Any]]:
    """The local step shared by BP, FA and DFA once delta = dL/da is known at `node`.

    Sends `down^T delta` to the layer below when the node has a feedback channel
    (computed before the update, so BP uses the forward pass's W; `down` is None for a
    parameter-free layer such as flatten, whose transpose is a reshape), then updates W, b
    from delta and the cached input.
    """
    layer = node.layer
    out = []
    if "feedback" in node.sends:
        out.append(("feedback", layer.transpose(delta, down)))
    if layer.params:
        node.update(layer.weight_grads(node.x, delta))
    return out


def label_delta(node: Any, message: Message) -> Any:
    """delta at the output layer from the label message (one-hot targets), (B, classes)."""
    return node.layer.output_delta(node.h, message.payload)
