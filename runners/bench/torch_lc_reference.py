"""Plain PyTorch reference of the locally-connected nets (CIFAR-LC, MNIST-LC) with BP, FA and SDTP.

Used only by the benchmark (runners/bench/lc_step.py), to put one localnet training step
next to an idiomatic torch step of the same net, rule, batch and float32, on the CPU or CUDA
(the CUDA path has not yet run on a GPU; runners/device_check runs it).

Layout is torch's own: images NCHW, patches from ``F.unfold`` (so a patch is ordered
(channel, kernel row, kernel column), not localnet's (row, column, channel)), one
``bmm`` over the P positions, ``F.fold`` for the transpose. A locally-connected layer
with k x k kernels, stride s and TF SAME padding computes, at every position p,
``a[p] = cols[p] (B, K) @ W[p] (K, C_out) + b[p]``: W is (P, K, C_out), b (P, 1, C_out).
Dense layers: ``a = h @ W + b``, W (n_in, n_out). Hidden activations tanh, the output
softmax with the batch-mean cross-entropy.

Rules (Adam on everything, as localnet):

* ``bp``: autograd.
* ``fa``: autograd through :class:`FeedbackMatmul`, whose backward sends
  the error down through a fixed random B (W's shape) instead of W.
* ``sdtp``: one parallel step of simplified difference target propagation (Algorithm 1), by
  hand, no autograd: a forward sweep in which every layer above the first computes the
  gradient of its inverse g(h) = tanh(V^T h + c) on ||g(f(x + noise)) - x||^2 (de-noising,
  summed over units and averaged over the batch), then targets top-down with the inverses
  as they were, t_{l-1} = x + g(t) - g(h) (the output's from the one-hot labels), then the
  inverse step and each layer's step on ||h - t||^2 (hidden) or the task loss (output).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

RULES = ("bp", "fa", "sdtp")
#: a layer: ("lc", kernel, channels, stride) | ("flatten",) | ("dense", units) | ("softmax", units)
LayerSpec = tuple


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(out, pad_before, pad_after) of TF SAME padding (as localnet.layers.patches)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def layers_from_config(config: Any) -> list[LayerSpec]:
    """The layer tuples of a localnet RunConfig of locally-connected, flatten, dense and
    softmax layers with tanh (ValueError naming anything else)."""
    out: list[LayerSpec] = []
    for spec in config.layers:
        kind = type(spec).__name__
        if getattr(spec, "activation", "tanh") != "tanh" and kind != "SoftmaxSpec":
            raise ValueError(f"the torch LC reference only has tanh layers, not {spec.activation!r}")
        if kind == "LocallyConnectedSpec" and spec.bias == "position":
            out.append(("lc", spec.kernel, spec.channels, spec.stride))
        elif kind == "FlattenSpec":
            out.append(("flatten",))
        elif kind in ("DenseSpec", "SoftmaxSpec"):
            out.append(("dense" if kind == "DenseSpec" else "softmax", spec.units))
        else:
            raise ValueError(f"the torch LC reference has no layer like {spec!r}")
    return out


class Layer:
    """One layer's shapes and parameters. kind: "lc", "flatten", "dense" or "softmax";
    in_shape/out_shape: (C, H, W) or (n,); W, b: the forward parameters (None for flatten);
    fb: {"B"} (fa) or {"V", "c"} (sdtp), of W's and of the input's shape."""

    def __init__(self, spec: LayerSpec, in_shape: tuple[int, ...]) -> None:
        self.kind, self.in_shape = spec[0], in_shape
        self.W: Tensor  # set by make_lc_trainer, except on flatten layers (no parameters)
        self.b: Tensor
        self.fb: dict[str, Tensor] = {}
        self.out_shape: tuple[int, ...]
        self.w_shape: tuple[int, ...]
        self.b_shape: tuple[int, ...]
        if self.kind == "lc":
            _, self.k, c_out, self.s = spec
            c, h, w = in_shape
            self.out_h, top, bottom = same_padding(h, self.k, self.s)
            self.out_w, left, right = same_padding(w, self.k, self.s)
            self.pad, self.padded = (left, right, top, bottom), (h + top + bottom, w + left + right)
            self.P, self.K = self.out_h * self.out_w, self.k * self.k * c
            self.out_shape = (c_out, self.out_h, self.out_w)
            self.w_shape, self.b_shape = (self.P, self.K, c_out), (self.P, 1, c_out)
            self.fans = (self.k * self.k * c, self.k * self.k * c_out)  # TF conv fans, as localnet
        elif self.kind == "flatten":
            self.out_shape = (math.prod(in_shape),)
        else:
            self.out_shape = (spec[1],)
            self.w_shape, self.b_shape = (in_shape[0], spec[1]), (spec[1],)
            self.fans = (in_shape[0], spec[1])

    def cols(self, x: Tensor) -> Tensor:
        """Patches of x (B, C, H, W) as (P, B, K)."""
        return F.unfold(F.pad(x, self.pad), self.k, stride=self.s).permute(2, 0, 1)

    def to_image(self, a: Tensor) -> Tensor:
        """(P, B, C_out) -> (B, C_out, out_h, out_w)."""
        return a.permute(1, 2, 0).reshape(a.shape[1], -1, self.out_h, self.out_w)

    def by_position(self, d: Tensor) -> Tensor:
        """(B, C_out, out_h, out_w) -> (P, B, C_out)."""
        return d.reshape(d.shape[0], d.shape[1], self.P).permute(2, 0, 1)

    def affine(self, x: Tensor, W: Tensor, b: Tensor, B: Tensor | None = None) -> Tensor:
        """a = x W + b on this layer's geometry; with B, autograd sends errors down through B."""
        if self.kind == "lc":
            cols = self.cols(x)
            prod = torch.bmm(cols, W) if B is None else FeedbackMatmul.apply(cols, W, B)
            return self.to_image(prod + b)
        return (torch.mm(x, W) if B is None else FeedbackMatmul.apply(x, W, B)) + b

    def transpose(self, d: Tensor, M: Tensor) -> Tensor:
        """M^T d: d of the output's shape (B, ...), M of W's shape -> (B, *in_shape)."""
        if self.kind != "lc":
            return d @ M.T
        cols = torch.bmm(self.by_position(d), M.transpose(1, 2)).permute(1, 2, 0)  # (B, K, P)
        left, _right, top, _bottom = self.pad
        image = F.fold(cols, self.padded, self.k, stride=self.s)
        return image[:, :, top:top + self.in_shape[1], left:left + self.in_shape[2]]

    def weight_grads(self, x: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
        """(dL/dW, dL/db) summed over the batch, for input x and d = dL/da."""
        if self.kind != "lc":
            return x.T @ d, d.sum(0)
        by_pos = self.by_position(d)
        return torch.bmm(self.cols(x).transpose(1, 2), by_pos), by_pos.sum(1, keepdim=True)


class FeedbackMatmul(torch.autograd.Function):
    """inputs @ W whose backward sends the error through B, not W: x (B, n_in) @ W (n_in, n_out)
    (dense), or cols (P, B, K) @ W (P, K, C_out) per position (LC); B of W's shape."""

    @staticmethod
    def forward(ctx: Any, inputs: Tensor, W: Tensor, B: Tensor) -> Tensor:
        ctx.save_for_backward(inputs, B)
        return torch.matmul(inputs, W)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor, None]:
        inputs, B = ctx.saved_tensors
        down = torch.matmul(grad, B.transpose(-2, -1)) if ctx.needs_input_grad[0] else None
        return down, torch.matmul(inputs.transpose(-2, -1), grad), None


def glorot(shape: Sequence[int], fans: tuple[int, int], gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    limit = math.sqrt(6.0 / (fans[0] + fans[1]))
    return torch.empty(tuple(shape), dtype=dtype).uniform_(-limit, limit, generator=gen)


class LCTrainer:
    """One training step per call, ``trainer(x, y) -> loss`` (x (B, C, H, W), y (B,) int64,
    on the trainer's device; the loss a 0-d tensor, read only when asked for).

    Built by :func:`make_lc_trainer`. Attributes: rule, layers (:class:`Layer`), params
    (forward W, b in layer order), optimizer, inverse_optimizer (sdtp), sigma (sdtp noise).
    """

    def __init__(self, rule: str, layers: list[Layer], adam: dict[str, Any], inverse_adam: dict[str, Any] | None,
                 sigma: float) -> None:
        self.rule, self.layers, self.sigma = rule, layers, sigma
        self.params = [p for layer in layers if layer.kind != "flatten" for p in (layer.W, layer.b)]
        for p in self.params:
            p.requires_grad_(rule != "sdtp")
        self.optimizer = torch.optim.Adam(self.params, **adam)
        self.inverses = [layer for layer in layers if "V" in layer.fb]
        inverse = [p for layer in self.inverses for p in (layer.fb["V"], layer.fb["c"])]
        self.inverse_optimizer = torch.optim.Adam(inverse, **inverse_adam) if inverse and inverse_adam else None

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, classes); errors flow back through W (bp) or B (fa)."""
        h = x
        for layer in self.layers:
            if layer.kind == "flatten":
                h = h.reshape(h.shape[0], -1)
                continue
            a = layer.affine(h, layer.W, layer.b, layer.fb.get("B"))
            h = a if layer.kind == "softmax" else torch.tanh(a)
        return h

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        if self.rule == "sdtp":
            with torch.no_grad():
                return self._sdtp(x, y)
        loss = F.cross_entropy(self.forward(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def inverse(self, layer: Layer, h: Tensor) -> Tensor:
        return torch.tanh(layer.transpose(h, layer.fb["V"]) + layer.fb["c"])

    def _sdtp(self, x: Tensor, y: Tensor) -> Tensor:
        batch, hs, xs = x.shape[0], [], []
        h = x
        for layer in self.layers:  # the forward sweep; each layer with an inverse trains it
            xs.append(h)
            if layer.kind == "flatten":
                h = h.reshape(batch, -1)
            else:
                a = layer.affine(h, layer.W, layer.b)
                h = torch.softmax(a, dim=1) if layer.kind == "softmax" else torch.tanh(a)
                if "V" in layer.fb:
                    self._train_inverse(layer, xs[-1])
            hs.append(h)
        probs, onehot = hs[-1], F.one_hot(y, hs[-1].shape[1]).to(x.dtype)
        loss = -(onehot * torch.log(probs + torch.finfo(x.dtype).tiny)).sum() / batch
        grads: list[Tensor] = []
        top = self.layers[-1]
        target = xs[-1] + (self.inverse(top, onehot) - self.inverse(top, probs))
        grads += top.weight_grads(xs[-1], (probs - onehot) / batch)[::-1]
        for i in range(len(self.layers) - 2, -1, -1):  # targets top-down, local steps
            layer, h = self.layers[i], hs[i]
            if layer.kind == "flatten":
                target = target.reshape(xs[i].shape)
                continue
            d = 2 * (h - target) / batch * (1 - h * h)
            grads += layer.weight_grads(xs[i], d)[::-1]
            if "V" in layer.fb:
                target = xs[i] + (self.inverse(layer, target) - self.inverse(layer, h))
        for p, g in zip(self.params, grads[::-1]):  # grads were gathered top-down, b before W
            p.grad = g
        if self.inverse_optimizer is not None:  # Algorithm 1: after the targets
            self.inverse_optimizer.step()
        self.optimizer.step()
        return loss

    def _train_inverse(self, layer: Layer, x: Tensor) -> None:
        noisy = x + self.sigma * torch.randn_like(x) if self.sigma > 0 else x
        a = layer.affine(noisy, layer.W, layer.b)
        y = torch.softmax(a, dim=1) if layer.kind == "softmax" else torch.tanh(a)
        recon = self.inverse(layer, y)
        d = 2 * (recon - x) / x.shape[0] * (1 - recon * recon)
        layer.fb["V"].grad, layer.fb["c"].grad = layer.weight_grads(d, y)[0], d.sum(0)


def make_lc_trainer(rule: str, layers: Sequence[LayerSpec], in_shape: tuple[int, int, int], lr: float,
                    betas: tuple[float, float], eps: float, inverse: tuple[float, tuple[float, float], float] | None = None,
                    sigma: float = 0.0, seed: int = 0, dtype: torch.dtype = torch.float32,
                    device: str | torch.device = "cpu") -> LCTrainer:
    """Build the net (Glorot-uniform weights, TF conv fans for LC; zero biases; drawn on the CPU
    from a private generator, then moved to `device`), its feedback and Adam.

    in_shape: (C, H, W); inverse: (lr, betas, eps) of the inverses' Adam (sdtp); sigma:
    the inverse-training noise (sdtp). Adam is torch's, fused on CUDA.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {RULES}")
    gen, built, shape = torch.Generator().manual_seed(seed), [], tuple(in_shape)
    for index, spec in enumerate(layers):
        layer = Layer(spec, shape)
        if layer.kind != "flatten":
            layer.W = glorot(layer.w_shape, layer.fans, gen, dtype).to(device)
            layer.b = torch.zeros(layer.b_shape, dtype=dtype, device=device)
            if rule == "fa" and index > 0:
                layer.fb["B"] = glorot(layer.w_shape, layer.fans, gen, dtype).to(device)
            if rule == "sdtp" and index > 0:
                layer.fb["V"] = glorot(layer.w_shape, layer.fans, gen, dtype).to(device)
                layer.fb["c"] = torch.zeros(shape, dtype=dtype, device=device)
        built.append(layer)
        shape = layer.out_shape
    fused = {"fused": True} if torch.device(device).type == "cuda" else {}
    adam = {"lr": lr, "betas": betas, "eps": eps, **fused}
    inverse_adam = None if inverse is None else {"lr": inverse[0], "betas": inverse[1], "eps": inverse[2], **fused}
    return LCTrainer(rule, built, adam, inverse_adam, sigma)


def trainer_for_config(config: Any, rule: str, in_shape: tuple[int, int, int], device: str = "cpu",
                       dtype: torch.dtype = torch.float32) -> LCTrainer:
    """make_lc_trainer with a localnet config's layers, Adam settings and sigma; in_shape (H, W, C)."""
    o, inv = config.optim, getattr(config, "inverse_optim", None)
    inverse = (inv.lr, (inv.beta1, inv.beta2), inv.eps) if inv is not None else None
    h, w, c = in_shape
    return make_lc_trainer(rule, layers_from_config(config), (c, h, w), o.lr, (o.beta1, o.beta2), o.eps, inverse,
                           getattr(config.rule, "sigma", 0.0), config.seed, dtype, device)


def time_lc_trainer(step: Callable[[Tensor, Tensor], object], x: Tensor, y: Tensor, batch: int, steps: int,
                    sync: Callable[[], None] | None = None) -> float:
    """Examples/second over `steps` steps on consecutive batches of (x, y), after 2 warm-up steps."""
    count = x.shape[0] // batch
    for k in range(2):
        step(x[k % count * batch:(k % count + 1) * batch], y[k % count * batch:(k % count + 1) * batch])
    if sync is not None:
        sync()
    start = time.perf_counter()
    for k in range(steps):
        j = k % count
        step(x[j * batch:(j + 1) * batch], y[j * batch:(j + 1) * batch])
    if sync is not None:
        sync()
    return steps * batch / (time.perf_counter() - start)
