"""Fully-connected layer: h = sigma(x W + b), W of shape (n_in, n_out).

Inputs of any unit shape are flattened (row-major), so a dense layer can follow an
image input directly; `transpose` restores the input's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..activations import get_activation
from ..backend import Backend
from ..registry import ACTIVATIONS, LAYERS
from ..seeding import glorot_uniform
from .base import Layer


@dataclass(frozen=True)
class DenseSpec:
    """units: output width; activation: tanh (paper), identity, relu or sigmoid."""

    units: int
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {self.units}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; known: {', '.join(ACTIVATIONS.names())}")

    def estimate(self, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        """(out_shape, parameters, values kept per example) on in_shape, without building."""
        return (self.units,), math.prod(in_shape) * self.units + self.units, 0


@LAYERS.register("dense")
class Dense(Layer):
    Spec: ClassVar[type] = DenseSpec

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        return DenseSpec(4), (5,)

    def __init__(self, spec: DenseSpec, in_shape: tuple[int, ...], backend: Backend, rng: np.random.Generator) -> None:
        super().__init__(spec, in_shape, backend, rng)
        self.fan_in = int(np.prod(in_shape))
        self.out_shape = (spec.units,)
        self.activation = self._activation()
        weight = glorot_uniform(rng, (self.fan_in, spec.units), self.fan_in, spec.units, backend.dtype)
        self.params = {
            "W": backend.to_device(weight),
            "b": self.xp.zeros(spec.units, dtype=backend.dtype),
        }

    def _activation(self) -> Any:
        return get_activation(self.spec.activation)

    def affine(self, x: Any, weight: Any, bias: Any) -> Any:
        return x.reshape(x.shape[0], self.fan_in) @ weight + bias

    def transpose(self, delta: Any, weight: Any) -> Any:
        return (delta @ weight.T).reshape(delta.shape[0], *self.in_shape)

    def weight_grads(self, x: Any, delta: Any) -> dict[str, Any]:
        return {"W": x.reshape(x.shape[0], self.fan_in).T @ delta, "b": delta.sum(axis=0)}
