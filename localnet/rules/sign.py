"""Sign symmetry (Liao, Leibo & Poggio 2016): BP with W^T replaced by sign(W)^T.

Layer l (l >= 2) sends sign(W_l)^T delta_l down its feedback channel: the feedback pathway
shares only the signs of the forward weights, never their magnitudes (declared transport
"signs"). As in FA, the matrix lives at the sending end, so a locally-connected layer's
transpose applies it with its own geometry; unlike FA's fixed B it follows W as W learns,
at no memory cost (sign(W) is formed when a message is sent).

Reference: Q. Liao, J. Z. Leibo, T. Poggio, "How important is weight symmetry in
backpropagation?", AAAI 2016 (their "sign-concordant feedback", without batch manhattan or
batch normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..messages import Message
from ..registry import RULES
from .base import Rule, label_delta
from .contract import LocalView, Reply


@dataclass(frozen=True)
class SignOptions:
    """feedback_scale: the feedback matrix is feedback_scale * sign(W) (1: the paper's +-1).
    Adam is blind to a gradient's scale except through eps, so it matters little."""

    feedback_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.feedback_scale > 0:
            raise ValueError(f"feedback_scale must be > 0, got {self.feedback_scale}")


@RULES.register("sign")
class Sign(Rule):
    Options = SignOptions
    transports_weights = "signs"

    def handle(self, view: LocalView, message: Message) -> Reply:
        layer = view.layer
        if message.kind == "target":  # output layer: labels arrive
            delta = label_delta(view, message)
        else:  # hidden layer: the sign-feedback error from above
            delta = message.payload * layer.derivative(view.a, view.h)
        messages: tuple[tuple[str, Any], ...] = ()
        if "feedback" in view.sends:  # sign(W) of the forward pass, before this step's update
            W = view.params.get("W")  # None for a parameter-free layer, whose transpose reshapes
            matrix = None if W is None else layer.xp.sign(W) * layer.xp.asarray(self.options.feedback_scale, W.dtype)
            messages = (("feedback", layer.transpose(delta, matrix)),)
        return Reply(messages, {"forward": layer.weight_grads(view.x, delta)})
