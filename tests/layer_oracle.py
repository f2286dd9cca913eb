"""Checks shared by the spatial layers' tests (conv, locally connected): the layer against
torch autograd, and the adjoint identity of affine and transpose (float64)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want|; the shapes must match."""
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-300))


def assert_matches_autograd(layer: Any, backend: Any, x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                            delta: np.ndarray, torch_affine: Callable[..., torch.Tensor],
                            torch_weight: np.ndarray | None = None) -> None:
    """layer.affine, weight_grads and transpose equal torch autograd of <torch_affine(x, w, b), delta>
    to relative 1e-10. x (B, *in_shape), weight of W's shape, delta (B, *out_shape);
    torch_weight: the weight in torch_affine's layout, when it differs (its gradient is
    reshaped to W's shape)."""
    dev = backend.to_device
    a = backend.to_host(layer.affine(dev(x), dev(weight), dev(bias)))
    grads = {k: backend.to_host(v) for k, v in layer.weight_grads(dev(x), dev(delta)).items()}
    back = backend.to_host(layer.transpose(dev(delta), dev(weight)))

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, weight if torch_weight is None else torch_weight, bias))
    at = torch_affine(xt, wt, bt)
    (at * torch.tensor(delta)).sum().backward()
    assert rel_err(a, at.detach().numpy()) < 1e-10
    assert rel_err(grads["W"], wt.grad.numpy().reshape(weight.shape)) < 1e-10
    assert rel_err(grads["b"], bt.grad.numpy()) < 1e-10
    assert rel_err(back, xt.grad.numpy()) < 1e-10


def assert_adjoint(layer: Any, rng: np.random.Generator, batch: int) -> None:
    """<affine(x, M, 0), d> == <x, transpose(d, M)> for a random M of W's shape (numpy float64 layer)."""
    m = rng.normal(size=layer.params["W"].shape)
    x = rng.normal(size=(batch, *layer.in_shape))
    d = rng.normal(size=(batch, *layer.out_shape))
    lhs = np.vdot(layer.affine(x, m, np.zeros_like(layer.params["b"])), d)
    rhs = np.vdot(x, layer.transpose(d, m))
    assert abs(lhs - rhs) <= 1e-12 * (np.abs(x).sum() * np.abs(m).max() * np.abs(d).sum() + 1)
