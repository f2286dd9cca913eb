"""Dense layer (and the parameter-free Flatten): adjointness and torch autograd in float64."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from localnet.backend import get_backend
from localnet.layers import Dense, DenseSpec, Flatten, FlattenSpec
from localnet.registry import LAYERS

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
unit_shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)  # (n,), (H, W), (H, W, C)


@fixture_ok
@given(in_shape=unit_shapes, units=st.integers(1, 7), batch=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_dense_equals_torch_autograd(in_shape, units, batch, seed, backend64):
    """affine, weight_grads and transpose equal autograd of <x.flatten() W + b, delta>."""
    rng = np.random.default_rng(seed)
    layer = Dense(DenseSpec(units=units), in_shape, backend64, rng)
    weight = rng.normal(size=layer.params["W"].shape)
    bias = rng.normal(size=units)
    x = rng.normal(size=(batch, *in_shape))
    delta = rng.normal(size=(batch, units))
    dev, host = backend64.to_device, backend64.to_host
    a = host(layer.affine(dev(x), dev(weight), dev(bias)))
    grads = {k: host(v) for k, v in layer.weight_grads(dev(x), dev(delta)).items()}
    back = host(layer.transpose(dev(delta), dev(weight)))

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, weight, bias))
    at = xt.reshape(batch, -1) @ wt + bt
    (at * torch.tensor(delta)).sum().backward()
    np.testing.assert_allclose(a, at.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["W"], wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["b"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert back.shape == x.shape
    np.testing.assert_allclose(back, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(in_shape=unit_shapes, units=st.integers(1, 7), batch=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_dense_transpose_is_the_adjoint_and_gives_the_inverse_gradient(in_shape, units, batch, seed):
    """<affine(x, M, 0), d> == <x, transpose(d, M)>, and d/dV <transpose(y, V), e> == weight_grads(e, y)."""
    layer = Dense(DenseSpec(units=units), in_shape, get_backend("numpy", "float64"), np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    m = rng.normal(size=layer.params["W"].shape)
    x = rng.normal(size=(batch, *in_shape))
    d = rng.normal(size=(batch, units))
    lhs = np.vdot(layer.affine(x, m, np.zeros(units)), d)
    assert abs(lhs - np.vdot(x, layer.transpose(d, m))) <= 1e-12 * (np.abs(x).sum() * np.abs(m).max() * np.abs(d).sum() + 1)
    vt = torch.tensor(m, requires_grad=True)
    (((torch.tensor(d) @ vt.T).reshape(x.shape)) * torch.tensor(x)).sum().backward()  # <V^T y, e>, y=d, e=x
    np.testing.assert_allclose(layer.weight_grads(x, d)["W"], vt.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(in_shape=unit_shapes, batch=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_flatten_is_a_reshape_with_an_exact_adjoint(in_shape, batch, seed):
    backend = get_backend("numpy", "float64")
    layer = Flatten(FlattenSpec(), in_shape, backend, np.random.default_rng(0))
    assert layer.out_shape == (int(np.prod(in_shape)),) and layer.params == {} and layer.parameter_count() == 0
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, *in_shape))
    d = rng.normal(size=(batch, *layer.out_shape))
    a, h = layer.forward(x)
    np.testing.assert_array_equal(a, x.reshape(batch, -1))
    assert h is a
    np.testing.assert_array_equal(layer.derivative(a, h), np.ones_like(a))
    assert np.isclose(np.vdot(layer.affine(x, None, None), d), np.vdot(x, layer.transpose(d, None)))
    assert layer.transpose(d, None).shape == x.shape
    assert layer.weight_grads(x, d) == {}
    assert LAYERS.get("flatten") is Flatten
