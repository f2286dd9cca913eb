"""Divergence guard: stop at the first message that carries NaN or Inf.

A tap on the engine checks every delivered payload, so the error names the layer that
sent it, the message kind, the step and the phase. The check is one reduction per
message (about 1-2% of a numpy training step); on CuPy it synchronises once per message.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import LocalnetError
from .messages import Message


class DivergenceError(LocalnetError):
    """Training produced NaN or Inf."""

    exit_code = 3


class FiniteGuard:
    """An engine tap that raises DivergenceError on the first non-finite payload."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __call__(self, message: Message) -> None:
        if not bool(self.xp.isfinite(message.payload).all()):
            raise DivergenceError(
                f"training diverged: the {message.kind} message {message.src} -> {message.dst} holds NaN/Inf "
                f"at step {message.step} (phase {message.phase}): lower the learning rate(s) or the DTP alpha, "
                "then rerun or resume from the last checkpoint")


def check_parameters(named: dict[str, Any], xp: Any, step: int) -> None:
    """Raise DivergenceError naming the first parameter array that holds NaN/Inf."""
    for name, value in named.items():
        if not bool(xp.isfinite(value).all()):
            layer, _, key = name.partition("/")
            raise DivergenceError(f"training diverged: parameter {key} of {layer} holds NaN/Inf after step {step}: "
                                  "lower the learning rate(s), then rerun or resume from the last checkpoint")


def check_loss(epoch: int, train_loss: float, test_loss: float, classes: int, factor: float) -> None:
    """DivergenceError if an epoch's mean training or test loss (cross-entropy, nats) is above
    `factor` times chance level's, ln(classes): a finite blow-up (weights grown huge, every
    prediction confidently wrong) that the NaN/Inf guard cannot see. factor 0 turns it off."""
    limit = factor * math.log(classes)
    worst = max(train_loss, test_loss)
    if factor > 0 and classes > 1 and worst > limit:
        which = "training" if train_loss >= test_loss else "test"
        raise DivergenceError(
            f"training diverged: epoch {epoch}'s {which} loss is {worst:.4g}, more than {factor:g} times chance "
            f"level's ({math.log(classes):.3f} for {classes} classes); its metrics row is written, the checkpoints "
            "hold the diverged weights: lower the learning rate(s) and rerun (train.diverge_loss sets the factor, "
            "0 turns the check off)")
