"""Output layer: p = softmax(x W + b) with the cross-entropy task loss.

The loss is the batch mean of -log p[y], so the error at the pre-activation is
delta = (p - y_onehot) / B, and feedback messages downstream carry batch-mean gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..registry import LAYERS
from .dense import Dense, DenseSpec


class Softmax:
    """Row-wise softmax over the last axis, shifted by the row max for stability."""

    @staticmethod
    def __call__(xp: Any, a: Any) -> Any:
        e = xp.exp(a - a.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    @staticmethod
    def derivative(xp: Any, a: Any, h: Any) -> Any:
        raise NotImplementedError("the softmax output's error comes from output_delta, not sigma'")


@dataclass(frozen=True)
class SoftmaxSpec:
    """units: number of classes (must match the dataset)."""

    units: int
    is_output: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.units < 2:
            raise ValueError(f"units must be >= 2 classes, got {self.units}")

    estimate = DenseSpec.estimate  # a dense layer of `units` outputs


@LAYERS.register("softmax")
class SoftmaxOutput(Dense):
    Spec = SoftmaxSpec
    is_output = True

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        return SoftmaxSpec(3), (5,)

    def _activation(self) -> Any:
        return Softmax()

    def loss(self, probs: Any, onehot: Any) -> Any:
        """Mean cross-entropy over the batch, a 0-d array on the backend."""
        tiny = self.xp.finfo(probs.dtype).tiny
        return -(onehot * self.xp.log(probs + tiny)).sum() / probs.shape[0]

    def output_delta(self, probs: Any, onehot: Any) -> Any:
        """dL/da for the mean cross-entropy: (p - y) / B, shape (B, classes)."""
        return (probs - onehot) / probs.shape[0]
