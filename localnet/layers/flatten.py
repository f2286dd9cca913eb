"""Flatten: (B, *in_shape) -> (B, prod(in_shape)), row-major; no parameters, identity activation.

Dense layers already flatten their input, so this layer is only needed where a config wants
the reshape as a node of its own. It has no W or b: `affine` ignores its weight and bias
arguments, `transpose` reshapes back (the adjoint of a reshape, which is also its exact
`inverse`), and `weight_grads` is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import get_activation
from ..backend import Backend
from ..registry import LAYERS
from .base import Layer


@dataclass(frozen=True)
class FlattenSpec:
    """No fields."""

    def estimate(self, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        """(out_shape, parameters, values kept per example) on in_shape, without building."""
        return (math.prod(in_shape),), 0, 0


@LAYERS.register("flatten")
class Flatten(Layer):
    Spec = FlattenSpec
    exact_inverse = True  # a reshape: `inverse` reshapes back

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        return FlattenSpec(), (3, 3, 2)

    def inverse(self, h: Any) -> Any:
        return h.reshape(h.shape[0], *self.in_shape)

    def __init__(self, spec: FlattenSpec, in_shape: tuple[int, ...], backend: Backend, rng: np.random.Generator) -> None:
        super().__init__(spec, in_shape, backend, rng)
        self.out_shape = (int(np.prod(in_shape)),)
        self.activation = get_activation("identity")
        self.params = {}

    def forward(self, x: Any, keep: bool = False) -> tuple[Any, Any]:
        """(a, h) with h = a = x reshaped to (B, prod(in_shape))."""
        a = self.affine(x, None, None)
        return a, a

    def affine(self, x: Any, weight: Any = None, bias: Any = None) -> Any:
        return x.reshape(x.shape[0], *self.out_shape)

    def transpose(self, delta: Any, weight: Any = None) -> Any:
        return delta.reshape(delta.shape[0], *self.in_shape)

    def weight_grads(self, x: Any, delta: Any) -> dict[str, Any]:
        return {}
