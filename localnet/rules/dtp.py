"""Difference target propagation (Lee et al. 2015), as the paper runs it.

The penultimate target is a gradient step on the task loss,
t_{L-1} = h_{L-1} - alpha dL/dh_{L-1}, computed at the output layer as
alpha W_L^T delta_L: this is weight transport, declared, at that one layer only. Below it,
targets use the learned inverses with the difference correction; inverses train on the
noise-preserving loss (Lee et al.'s code, the paper's appendix 5.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..registry import RULES
from .contract import LocalView
from .target import TargetOptions, TargetRule

ALPHA_GRADIENTS = ("batch_mean", "per_example")


@dataclass(frozen=True)
class DTPOptions(TargetOptions):
    """alpha: step size of the penultimate target; alpha_gradient: whether dL/dh is the
    gradient of the batch-mean loss (Lee et al.'s code: it shrinks with the batch size) or
    of each example's own loss."""

    noise: str = "preserving"
    alpha: float = 0.1
    alpha_gradient: str = "per_example"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.alpha_gradient not in ALPHA_GRADIENTS:
            raise ValueError(f"alpha_gradient must be one of {', '.join(ALPHA_GRADIENTS)}, got {self.alpha_gradient!r}")


@RULES.register("dtp")
class DTP(TargetRule):
    Options = DTPOptions
    transports_weights = "penultimate"
    output_inverse = False

    def output_target(self, view: LocalView, onehot: Any) -> list[tuple[str, Any]]:
        error = view.h - onehot  # dL_i/da_L for each example's own cross-entropy
        if self.options.alpha_gradient == "batch_mean":
            error = error / view.h.shape[0]
        grad = view.layer.transpose(error, view.params["W"])  # W^T: weight transport, declared
        return [("target", view.x - self.options.alpha * grad)]
