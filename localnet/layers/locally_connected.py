"""Locally-connected layer: a convolution without weight sharing (Bartunov et al. 2018, 5.2).

Every output position p = (row, column) has its own k x k x C_in -> C_out filter:
a[b, p, o] = sum_K patch[p, b, K] W[p, K, o] + bias, with SAME zero padding and stride s.

Shapes: input (B, H, W, C_in) channel-last; output (B, out_h, out_w, C_out) with
out = ceil(in / s); W (P, K, C_out), P = out_h * out_w, K = k * k * C_in ordered
(kernel row, kernel column, input channel); b (out_h, out_w, C_out) for bias="position"
(one bias per unit, as TF's LocallyConnected2D) or (C_out,) for bias="channel".

Init: Glorot uniform with TF's *convolution* fans, fan_in = k*k*C_in and fan_out = k*k*C_out,
i.e. each position's filter is initialised like a conv filter. (Keras' LocallyConnected2D
would derive the fans from its 3-D kernel shape, P*K and P*C_out, an init sqrt(P) times
smaller; the paper only says "Glorot", so we keep the conventional per-filter scale.)

Speed (see patches.py for layouts): numpy's matmul on the stacked (P, ., .) arrays calls one
BLAS sgemm per position from C; on the CIFAR-LC shapes it is as fast as a Python loop of P 2-D
GEMMs or einsum(optimize=True) for the forward pass and the transpose (`python -m
runners.bench.lc` compares them). For the weight gradient einsum computes the transposed
product (P, C_out, K) and returns a transposed view, and making that gradient contiguous (Adam
reads it next to W) costs what einsum saves, so all three GEMMs use matmul, which on CuPy is
one batched cuBLAS call. Operands are passed as transposed views (BLAS reads them with its
transpose flags) and the forward writes straight into the (B, P, C_out) result, so on numpy no
GEMM operand or result is copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import get_activation
from ..backend import Backend
from ..registry import ACTIVATIONS, LAYERS
from ..seeding import glorot_uniform
from .base import Layer
from .patches import KeptPatches, PatchGeometry, image_shape, patch_estimate

BIAS_MODES = ("position", "channel")


def check_patch_spec(kernel: int, channels: int, stride: int, activation: str) -> None:
    """The checks LC and conv specs share; ValueError with the field and the value."""
    for name, value in (("kernel", kernel), ("channels", channels), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS.names())}")


@dataclass(frozen=True)
class LocallyConnectedSpec:
    """kernel: k of the k x k window (odd or even); channels: C_out; stride: s (SAME padding);
    activation: tanh (paper), identity, relu or sigmoid; bias: "position" or "channel"."""

    kernel: int
    channels: int
    stride: int = 1
    activation: str = "tanh"
    bias: str = "position"

    def __post_init__(self) -> None:
        check_patch_spec(self.kernel, self.channels, self.stride, self.activation)
        if self.bias not in BIAS_MODES:
            raise ValueError(f"bias must be one of {', '.join(BIAS_MODES)}, got {self.bias!r}")

    def estimate(self, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        """(out_shape, parameters, values kept per example) on in_shape, without building."""
        out, positions, patch = patch_estimate(in_shape, self.kernel, self.channels, self.stride)
        biases = positions * self.channels if self.bias == "position" else self.channels
        return out, positions * patch * self.channels + biases, positions * patch


@LAYERS.register("locally_connected")
class LocallyConnected(Layer):
    Spec = LocallyConnectedSpec

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        return LocallyConnectedSpec(kernel=3, channels=2, stride=2), (5, 5, 2)

    def __init__(self, spec: LocallyConnectedSpec, in_shape: tuple[int, ...], backend: Backend,
                 rng: np.random.Generator) -> None:
        super().__init__(spec, in_shape, backend, rng)
        h, w, c_in = image_shape(in_shape, "locally_connected")
        self.geometry = g = PatchGeometry((h, w, c_in), spec.kernel, spec.stride, backend)
        c_out = spec.channels
        self.out_shape = (g.out_h, g.out_w, c_out)
        self.activation = get_activation(spec.activation)
        weight = glorot_uniform(rng, (g.positions, g.patch_size, c_out), *self.fans, backend.dtype)
        bias_shape = self.out_shape if spec.bias == "position" else (c_out,)
        self.params = {"W": backend.to_device(weight), "b": self.xp.zeros(bias_shape, dtype=backend.dtype)}
        self.kept = KeptPatches()

    @property
    def fans(self) -> tuple[int, int]:
        """Glorot (fan_in, fan_out) of W and of W-shaped feedback (FA's B, a TP inverse):
        TF's conv convention, k*k*C_in and k*k*C_out, i.e. one filter's receptive field."""
        k2 = self.spec.kernel * self.spec.kernel
        return k2 * self.in_shape[2], k2 * self.spec.channels

    def _by_position(self, delta: Any) -> Any:
        """(B, out_h, out_w, C_out) -> its (P, B, C_out) view (a copy only if delta is strided)."""
        return delta.reshape(delta.shape[0], self.geometry.positions, -1).transpose(1, 0, 2)

    def forward(self, x: Any, keep: bool = False) -> tuple[Any, Any]:
        cols = self.geometry.im2col(x)  # (P, B, K)
        if keep:
            self.kept.keep(x, cols)
        a = self._affine_columns(cols, self.params["W"], self.params["b"])
        return a, self.activation(self.xp, a)

    def kept_per_example(self) -> int:
        return self.geometry.positions * self.geometry.patch_size

    def affine(self, x: Any, weight: Any, bias: Any) -> Any:
        """a = patches(x) W + b: x (B, H, W, C_in) -> (B, out_h, out_w, C_out)."""
        return self._affine_columns(self.geometry.im2col(x), weight, bias)

    def _affine_columns(self, cols: Any, weight: Any, bias: Any) -> Any:
        batch = cols.shape[1]
        out = self.xp.empty((batch, self.geometry.positions, self.spec.channels), dtype=cols.dtype)
        self.xp.matmul(cols, weight, out=out.transpose(1, 0, 2))  # P GEMMs (B, K) @ (K, C_out)
        out = out.reshape(batch, *self.out_shape)
        out += bias
        return out

    def transpose(self, delta: Any, weight: Any) -> Any:
        """M^T delta: delta (B, out_h, out_w, C_out) and M of W's shape -> (B, H, W, C_in)."""
        # (P, K, C_out) @ (P, C_out, B) -> (P, K, B): the batch-last columns col2im reads fastest.
        cols = self.xp.matmul(weight, self._by_position(delta).transpose(0, 2, 1))
        return self.geometry.col2im(cols.transpose(0, 2, 1))

    def weight_grads(self, x: Any, delta: Any) -> dict[str, Any]:
        """dL/dW (P, K, C_out) and dL/db (b's shape), summed over the batch, given delta = dL/da.
        Reuses the columns of a `forward(x, keep=True)` of this very x."""
        cols = self.kept.take(x)
        if cols is None:
            cols = self.geometry.im2col(x)  # (P, B, K)
        grad_w = self.xp.matmul(cols.transpose(0, 2, 1), self._by_position(delta))  # (P, K, B) @ (P, B, C_out)
        grad_b = delta.sum(axis=0) if self.spec.bias == "position" else delta.sum(axis=(0, 1, 2))
        return {"W": grad_w, "b": grad_b}
