"""The typed contract between a learning rule and the layer it runs on.

A rule's handler sees one layer only, through a `LocalView`: the layer's math (`layer`,
for affine / transpose / weight_grads / derivative), its cached forward values (x, a, h),
its own forward parameters, the per-layer `RuleState` the rule created for it, and the
kinds it has outgoing channels for. It answers with a `Reply`: the messages to send and
the gradients per parameter group. It mutates nothing: the node applies the gradients
with the group's own optimizer after the handler returns, and the engine delivers the
messages. What a rule may send, receive, transport and update is declared on the `Rule`
class (rules/base.py) and checked by the builder and the conformance suites
(localnet/testing/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: What a rule's feedback/target messages may carry of the forward weights W, b:
#: "never" (nothing: changing W after the forward pass changes no message), "signs" (only
#: sign(W): W's magnitudes change no message), "penultimate" (only the output layer's message
#: may use its W, e.g. DTP's gradient-step target), "everywhere" (any layer's, e.g. BP).
TRANSPORTS = ("never", "signs", "penultimate", "everywhere")


@dataclass(frozen=True)
class ParamGroup:
    """A set of parameters a rule updates, each group with its own Adam.

    name: "forward" (the layer's own W, b) or a group of the rule's state arrays (e.g.
    "inverse": a TP inverse's V, c); optimizer: the RunConfig field holding its Adam settings
    ("optim", "inverse_optim"). A layer's forward group also takes its [[layers]] optim keys.
    """

    name: str
    optimizer: str


FORWARD = ParamGroup("forward", "optim")


@dataclass
class RuleState:
    """What a rule keeps at one layer, created by `Rule.init_state` at build time.

    arrays: name -> array on the backend (FA's fixed B, a TP inverse's V and c, ...), saved in
    checkpoints and params.npz as "layerN/feedback.NAME"; learned: group name -> the keys of
    `arrays` that group updates (each group declared in the rule's `modifies`); rng: the
    layer's own noise stream (TP inverse training) or None. The builder attaches one Adam per
    learned group (`optimizers`); `grads` keeps each group's last gradients, for probes.
    """

    arrays: dict[str, Any] = field(default_factory=dict)
    learned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rng: Any = None
    optimizers: dict[str, Any] = field(default_factory=dict)
    grads: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalView:
    """One layer as its rule may see it while handling one message.

    name, index, role ("hidden" / "output"): the layer's identity and position; layer: its
    math (affine, transpose, weight_grads, derivative, forward; read its parameters only
    through `params`); x (B, *in_shape), a and h (B, *out_shape): its cached forward pass;
    params: its forward W, b (read only); state: its RuleState (read only: updates go back
    as gradients); sends: the message kinds it has outgoing channels for.
    """

    name: str
    index: int
    role: str
    layer: Any
    x: Any
    a: Any
    h: Any
    params: Mapping[str, Any]
    state: RuleState
    sends: frozenset[str]


@dataclass(frozen=True)
class Reply:
    """What a handler returns: messages [(kind, payload)] to send, and gradients per
    parameter group {group name: {key: dL/dkey}} for the node to apply (an empty dict:
    nothing to update)."""

    messages: tuple[tuple[str, Any], ...] = ()
    grads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


NOTHING = Reply()
