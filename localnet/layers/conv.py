"""Convolutional layer with shared weights: the BP ConvNet baseline (same specs as the LC nets).

a[b, p, o] = sum_K patch[p, b, K] W[K, o] + b[o], SAME zero padding, stride s.
Shapes: input (B, H, W, C_in) channel-last; output (B, out_h, out_w, C_out); W (K, C_out) with
K = k * k * C_in ordered (kernel row, kernel column, input channel), i.e. TF's (k, k, C_in,
C_out) kernel reshaped; b (C_out,). Glorot uniform init with fan_in = k*k*C_in and
fan_out = k*k*C_out (TF's convention for conv kernels).

im2col's buffer is (B, P, K) contiguous, so the forward pass and the weight gradient are each
ONE GEMM over all B * P rows; the transpose is P GEMMs into the batch-last column layout
col2im reads fastest (see patches.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import get_activation
from ..backend import Backend
from ..registry import LAYERS
from ..seeding import glorot_uniform
from .base import Layer
from .locally_connected import check_patch_spec
from .patches import KeptPatches, PatchGeometry, image_shape, patch_estimate


@dataclass(frozen=True)
class ConvSpec:
    """kernel: k of the k x k window (odd or even); channels: C_out; stride: s (SAME padding);
    activation: tanh (paper), identity, relu or sigmoid; bias: "channel" only (shared weights
    go with shared biases; per-position biases belong to locally_connected)."""

    kernel: int
    channels: int
    stride: int = 1
    activation: str = "tanh"
    bias: str = "channel"

    def __post_init__(self) -> None:
        check_patch_spec(self.kernel, self.channels, self.stride, self.activation)
        if self.bias != "channel":
            raise ValueError(f"conv layers have one bias per channel: bias must be 'channel', got {self.bias!r} "
                             "(use type = \"locally_connected\" for per-position biases)")

    def estimate(self, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        """(out_shape, parameters, values kept per example) on in_shape, without building."""
        out, positions, patch = patch_estimate(in_shape, self.kernel, self.channels, self.stride)
        return out, patch * self.channels + self.channels, positions * patch


@LAYERS.register("conv")
class Conv(Layer):
    Spec = ConvSpec

    @classmethod
    def example(cls) -> tuple[Any, tuple[int, ...]]:
        return ConvSpec(kernel=3, channels=2, stride=2), (5, 5, 2)

    def __init__(self, spec: ConvSpec, in_shape: tuple[int, ...], backend: Backend, rng: np.random.Generator) -> None:
        super().__init__(spec, in_shape, backend, rng)
        h, w, c_in = image_shape(in_shape, "conv")
        self.geometry = g = PatchGeometry((h, w, c_in), spec.kernel, spec.stride, backend)
        c_out = spec.channels
        self.out_shape = (g.out_h, g.out_w, c_out)
        self.activation = get_activation(spec.activation)
        weight = glorot_uniform(rng, (g.patch_size, c_out), *self.fans, backend.dtype)
        self.params = {"W": backend.to_device(weight), "b": self.xp.zeros(c_out, dtype=backend.dtype)}
        self.kept = KeptPatches()

    @property
    def fans(self) -> tuple[int, int]:
        """Glorot (fan_in, fan_out) of W and of W-shaped feedback (FA's B, a TP inverse):
        TF's conv convention, k*k*C_in and k*k*C_out, i.e. one filter's receptive field."""
        k2 = self.spec.kernel * self.spec.kernel
        return k2 * self.in_shape[2], k2 * self.spec.channels

    def _rows(self, x: Any) -> Any:
        """im2col of x as a (B * P, K) matrix, row b * P + p (a free reshape of im2col's buffer)."""
        return self.geometry.im2col(x).transpose(1, 0, 2).reshape(-1, self.geometry.patch_size)

    def forward(self, x: Any, keep: bool = False) -> tuple[Any, Any]:
        rows = self._rows(x)
        if keep:
            self.kept.keep(x, rows)
        a = self._affine_rows(rows, x.shape[0], self.params["W"], self.params["b"])
        return a, self.activation(self.xp, a)

    def kept_per_example(self) -> int:
        return self.geometry.positions * self.geometry.patch_size

    def affine(self, x: Any, weight: Any, bias: Any) -> Any:
        """a = patches(x) W + b: x (B, H, W, C_in) -> (B, out_h, out_w, C_out)."""
        return self._affine_rows(self._rows(x), x.shape[0], weight, bias)

    def _affine_rows(self, rows: Any, batch: int, weight: Any, bias: Any) -> Any:
        out = (rows @ weight).reshape(batch, *self.out_shape)
        out += bias
        return out

    def transpose(self, delta: Any, weight: Any) -> Any:
        """M^T delta: delta (B, out_h, out_w, C_out) and M (K, C_out) -> (B, H, W, C_in)."""
        by_position = delta.reshape(delta.shape[0], self.geometry.positions, -1).transpose(1, 2, 0)
        cols = self.xp.matmul(weight, by_position)  # (K, C_out) @ (P, C_out, B) -> (P, K, B), batch last
        return self.geometry.col2im(cols.transpose(0, 2, 1))

    def weight_grads(self, x: Any, delta: Any) -> dict[str, Any]:
        """dL/dW (K, C_out) and dL/db (C_out,), summed over batch and positions."""
        rows = self.kept.take(x)  # the columns of a forward(x, keep=True), if this is that x
        if rows is None:
            rows = self._rows(x)
        grad_w = rows.T @ delta.reshape(-1, self.spec.channels)
        return {"W": grad_w, "b": delta.sum(axis=(0, 1, 2))}
