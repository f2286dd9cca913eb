"""What a learning rule declares, and the error-propagation step BP, FA, DFA and sign share.

A rule object holds only its options; everything it keeps per layer (fixed feedback
matrices, learned inverses, noise streams) is a `RuleState` it creates in `init_state`.
Its handlers get a `LocalView` of one layer and return a `Reply` (rules/contract.py).
The class declares, for the builder, the recorder, the checkpoints and the conformance
suites (localnet/testing/):

- ``consumes`` / ``emits``: message kinds per role ("hidden", "output");
- ``channels(infos)``: the feedback/target channels it needs beyond the forward chain;
- ``transports_weights``: what its messages carry of forward weights (contract.TRANSPORTS);
- ``modifies``: the parameter groups it updates, each with its optimizer's config key;
- ``probes``: derived series it can compute for the recorder (`probe(view, name)`);
- ``layer_types``: the layer types it runs on (None: all), checked when a config is parsed;
- ``needs_exact_inverse(info)``: where it needs the layer's exact inverse (checked at build).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backend import Backend
from ..messages import Channel, Message
from ..schedule import ERROR_FEEDBACK, StepPlan
from .contract import FORWARD, NOTHING, LocalView, ParamGroup, Reply, RuleState


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
    kind: str = ""  # the layer type's registry name
    exact_inverse: bool = False  # the layer declares `inverse(h)`, its exact inverse

    @property
    def has_params(self) -> bool:
        return bool(self.weight_shape)

    @property
    def role(self) -> str:
        return "output" if self.index == self.count - 1 else "hidden"

    @property
    def units(self) -> int:
        return int(np.prod(self.out_shape))


@dataclass(frozen=True)
class StateInit:
    """What `init_state` may draw on: rng, the layer's seeded host stream for fixed or
    initial feedback parameters; backend; noise(), the layer's own noise stream on the
    backend (create it only if the rule uses noise)."""

    rng: np.random.Generator
    backend: Backend
    noise: Any  # () -> generator


class Rule:
    """Base class. Subclasses set `Options`, their declarations and `handle`."""

    Options: ClassVar[type]
    #: what feedback/target messages carry of forward weights: one of contract.TRANSPORTS
    transports_weights: ClassVar[str] = "never"
    consumes: ClassVar[dict[str, frozenset[str]]] = {
        "hidden": frozenset({"forward", "feedback"}), "output": frozenset({"forward", "target"})}
    emits: ClassVar[dict[str, frozenset[str]]] = {
        "hidden": frozenset({"forward", "feedback"}), "output": frozenset({"forward", "feedback"})}
    #: the parameter groups the rule updates; the first is always the layer's forward W, b
    modifies: ClassVar[tuple[ParamGroup, ...]] = (FORWARD,)
    #: derived per-layer series the rule computes for the recorder (see `probe`)
    probes: ClassVar[tuple[str, ...]] = ()
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
        return [Channel(upper.name, lower.name, "feedback") for lower, upper in itertools.pairwise(layers)]

    def init_state(self, info: LayerInfo, init: StateInit) -> RuleState:
        """The state the rule keeps at layer `info` (none by default)."""
        return RuleState()

    def needs_exact_inverse(self, info: LayerInfo) -> bool:
        """Whether the rule needs layer `info`'s exact inverse (`Layer.inverse`)."""
        return False

    def after_forward(self, view: LocalView, message: Message) -> Reply:
        """Called once a layer has computed its forward pass for `message`: local learning
        during a forward sweep (TP inverses in "inverse" phases). Gradients only; the node
        sends the forward message itself."""
        return NOTHING

    def handle(self, view: LocalView, message: Message) -> Reply:
        """A feedback or target message arrives at `view`'s layer."""
        raise NotImplementedError

    def probe(self, view: LocalView, name: str) -> Any:
        """The value (0-d, on the backend) of probe `name` (one of `probes`) at `view`, or None
        where it does not apply."""
        raise KeyError(name)


@dataclass(frozen=True)
class RandomFeedbackOptions:
    """Options of rules with fixed random feedback matrices (FA, DFA): feedback_scale
    multiplies the Glorot-uniform limit of each B (the paper does not give B's scale)."""

    feedback_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.feedback_scale > 0:
            raise ValueError(f"feedback_scale must be > 0, got {self.feedback_scale}")


def error_step(view: LocalView, delta: Any, matrix: Any) -> Reply:
    """The local step of BP, FA and sign once delta = dL/da is known at `view`'s layer.

    Sends `matrix^T delta` (the layer's `transpose` with `matrix` of W's shape: BP's W, FA's
    B, sign(W); a parameter-free layer ignores it) to the layer below when it has a feedback
    channel, and returns the forward gradients from delta and the cached input. The message
    is computed from the forward pass's W: the node applies the update after the handler.
    """
    layer = view.layer
    messages = (("feedback", layer.transpose(delta, matrix)),) if "feedback" in view.sends else ()
    return Reply(messages, {"forward": layer.weight_grads(view.x, delta)})


def label_delta(view: LocalView, message: Message) -> Any:
    """delta at the output layer from the label message (one-hot targets), (B, classes)."""
    return view.layer.output_delta(view.h, message.payload)
