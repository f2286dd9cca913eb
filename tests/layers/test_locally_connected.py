"""Locally-connected layer: oracles in torch (conv2d for tied weights, autograd through an
unfold-based LC), adjointness, the TP-inverse gradient identity, bias modes, errors, sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings, strategies as st
from layer_oracle import assert_adjoint, assert_matches_autograd, rel_err

from localnet.backend import get_backend
from localnet.layers import Dense, LocallyConnected, LocallyConnectedSpec, SoftmaxOutput, SoftmaxSpec
from localnet.layers.dense import DenseSpec
from localnet.registry import LAYERS

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
shapes = st.fixed_dictionaries({
    "h": st.integers(1, 9), "w": st.integers(1, 9), "c_in": st.integers(1, 4), "c_out": st.integers(1, 4),
    "kernel": st.integers(1, 5), "stride": st.integers(1, 3), "batch": st.integers(1, 4),
    "bias": st.sampled_from(["position", "channel"]),
})


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF SAME padding (before, after), written out here independently of localnet."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def torch_pad_nchw(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """(B, H, W, C) -> TF-SAME zero-padded (B, C, H', W') for torch's conv2d / unfold."""
    top, bottom = tf_same_pads(x.shape[1], kernel, stride)
    left, right = tf_same_pads(x.shape[2], kernel, stride)
    return F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))


def torch_lc(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Reference LC: F.unfold patches, reordered (c, ki, kj) -> (ki, kj, c), one einsum per position."""
    batch, h, w, c = x.shape
    cols = F.unfold(torch_pad_nchw(x, kernel, stride), kernel, stride=stride)  # (B, C*k*k, P)
    positions = cols.shape[2]
    cols = cols.reshape(batch, c, kernel * kernel, positions).transpose(1, 2).reshape(batch, -1, positions)
    out_h, out_w = -(-h // stride), -(-w // stride)
    a = torch.einsum("bkp,pko->bpo", cols, weight).reshape(batch, out_h, out_w, -1)
    return a + bias


def make_layer(s: dict, backend, seed: int = 0) -> LocallyConnected:
    spec = LocallyConnectedSpec(kernel=s["kernel"], channels=s["c_out"], stride=s["stride"], bias=s["bias"])
    return LocallyConnected(spec, (s["h"], s["w"], s["c_in"]), backend, np.random.default_rng(seed))


@fixture_ok
@given(kernel=st.sampled_from([1, 3, 5]), stride=st.sampled_from([1, 2]), c_in=st.integers(1, 4),
       c_out=st.integers(1, 4), h=st.integers(1, 9), w=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_tied_weights_equal_torch_conv2d(kernel, stride, c_in, c_out, h, w, seed, backend64):
    """With every position's filter equal to one conv kernel, LC is TF-SAME conv2d."""
    rng = np.random.default_rng(seed)
    layer = make_layer(dict(h=h, w=w, c_in=c_in, c_out=c_out, kernel=kernel, stride=stride, bias="channel"), backend64)
    kernel_tf = rng.normal(size=(kernel, kernel, c_in, c_out))  # TF layout (k, k, C_in, C_out)
    bias = rng.normal(size=c_out)
    tied = np.broadcast_to(kernel_tf.reshape(1, -1, c_out), layer.params["W"].shape)
    x = rng.normal(size=(3, h, w, c_in))
    got = backend64.to_host(layer.affine(backend64.to_device(x), backend64.to_device(np.ascontiguousarray(tied)),
                                         backend64.to_device(bias)))
    xt = torch.tensor(x)
    want = F.conv2d(torch_pad_nchw(xt, kernel, stride), torch.tensor(kernel_tf).permute(3, 2, 0, 1),
                    torch.tensor(bias), stride=stride).permute(0, 2, 3, 1).numpy()
    assert rel_err(got, want) < 1e-10


@fixture_ok
@given(s=shapes, seed=st.integers(0, 2**16))
def test_forward_grads_and_transpose_equal_torch_autograd(s, seed, backend64):
    """affine, weight_grads and transpose equal torch autograd through the unfold LC (float64)."""
    rng = np.random.default_rng(seed)
    layer = make_layer(s, backend64, seed)
    weight = rng.normal(size=layer.params["W"].shape)
    bias = rng.normal(size=layer.params["b"].shape)
    x = rng.normal(size=(s["batch"], s["h"], s["w"], s["c_in"]))
    delta = rng.normal(size=(s["batch"], *layer.out_shape))
    assert_matches_autograd(layer, backend64, x, weight, bias, delta,
                            lambda xt, wt, bt: torch_lc(xt, wt, bt, s["kernel"], s["stride"]))


@given(s=shapes, seed=st.integers(0, 2**16))
def test_transpose_is_the_adjoint_of_affine(s, seed):
    """<affine(x, M, 0), d> == <x, transpose(d, M)> for any M of W's shape."""
    layer = make_layer(s, get_backend("numpy", "float64"), seed)
    rng = np.random.default_rng(seed)
    assert_adjoint(layer, rng, s["batch"])


@pytest.mark.slow
@given(s=shapes, seed=st.integers(0, 2**16))
def test_inverse_gradient_identity(s, seed):
    """d/dV <transpose(y, V), e> == weight_grads(e, y)["W"]: what a TP inverse V uses to learn.

    The left side is torch autograd of the reference transpose, itself the vector-Jacobian
    product of the unfold LC, so the identity is checked against an independent derivation.
    """
    layer = make_layer(s, get_backend("numpy", "float64"), seed)
    rng = np.random.default_rng(seed)
    v = rng.normal(size=layer.params["W"].shape)
    y = rng.normal(size=(s["batch"], *layer.out_shape))   # e.g. h_l, in the layer's output space
    e = rng.normal(size=(s["batch"], *layer.in_shape))    # an error in the input space
    vt = torch.tensor(v, requires_grad=True)
    probe = torch.zeros(e.shape, dtype=torch.float64, requires_grad=True)
    out = torch_lc(probe, vt, torch.zeros(()), s["kernel"], s["stride"])
    transpose_y = torch.autograd.grad(out, probe, grad_outputs=torch.tensor(y), create_graph=True)[0]  # V^T y
    np.testing.assert_allclose(layer.transpose(y, v), transpose_y.detach().numpy(), rtol=1e-10, atol=1e-12)
    (transpose_y * torch.tensor(e)).sum().backward()
    assert rel_err(layer.weight_grads(e, y)["W"], vt.grad.numpy()) < 1e-10


@pytest.mark.parametrize("mode, shape", [("position", (4, 3, 5)), ("channel", (5,))])
def test_bias_modes(mode, shape):
    """Per-position biases (one per unit) or per-channel ones; both add to the right units."""
    backend = get_backend("numpy", "float64")
    layer = LocallyConnected(LocallyConnectedSpec(kernel=3, channels=5, stride=2, bias=mode), (7, 6, 2),
                             backend, np.random.default_rng(0))
    assert layer.out_shape == (4, 3, 5) and layer.params["b"].shape == shape
    assert layer.params["W"].shape == (12, 18, 5) and not layer.params["b"].any()
    bias = np.arange(np.prod(shape), dtype=float).reshape(shape)
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 2))
    shifted = layer.affine(x, layer.params["W"], bias) - layer.affine(x, layer.params["W"], 0 * bias)
    np.testing.assert_allclose(shifted, np.broadcast_to(bias, (2, 4, 3, 5)), atol=1e-12)
    assert layer.weight_grads(x, np.ones((2, 4, 3, 5)))["b"].shape == shape


def test_glorot_init_uses_conv_fans():
    layer = LocallyConnected(LocallyConnectedSpec(kernel=5, channels=64, stride=2), (32, 32, 3),
                             get_backend("numpy", "float32"), np.random.default_rng(0))
    w = layer.params["W"]
    assert w.dtype == np.float32 and w.shape == (256, 75, 64)
    assert layer.fans == (25 * 3, 25 * 64)
    limit = np.sqrt(6 / (25 * 3 + 25 * 64))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert LAYERS.get("locally_connected") is LocallyConnected


@pytest.mark.parametrize("fields, message", [
    ({"kernel": 0, "channels": 4}, "kernel must be an integer >= 1, got 0"),
    ({"kernel": 2.5, "channels": 4}, "kernel must be an integer >= 1, got 2.5"),
    ({"kernel": 3, "channels": -1}, "channels must be an integer >= 1, got -1"),
    ({"kernel": 3, "channels": 4, "stride": 0}, "stride must be an integer >= 1, got 0"),
    ({"kernel": 3, "channels": 4, "bias": "pixel"}, "bias must be one of position, channel, got 'pixel'"),
    ({"kernel": 3, "channels": 4, "activation": "tanhh"}, "unknown activation 'tanhh'"),
])
def test_bad_spec_is_a_clear_error(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        LocallyConnectedSpec(**fields)


@pytest.mark.parametrize("in_shape", [(784,), (28, 28), (2, 28, 28, 1)])
def test_non_image_input_is_a_clear_error(in_shape):
    with pytest.raises(ValueError, match=r"needs an image input of unit shape \(H, W, C\)"):
        LocallyConnected(LocallyConnectedSpec(kernel=3, channels=4), in_shape, get_backend(), np.random.default_rng(0))


def build_stack(in_shape: tuple[int, ...], lc: list[tuple[int, int, int]], bias: str) -> list:
    """LC layers (kernel, channels, stride), then dense 1024 and softmax 10, each on the last out_shape."""
    backend, rng, layers, shape = get_backend("numpy", "float32"), np.random.default_rng(0), [], in_shape
    specs = [(LocallyConnected, LocallyConnectedSpec(kernel=k, channels=c, stride=s, bias=bias)) for k, c, s in lc]
    for cls, spec in [*specs, (Dense, DenseSpec(units=1024)), (SoftmaxOutput, SoftmaxSpec(units=10))]:
        layers.append(cls(spec, shape, backend, rng))
        shape = layers[-1].out_shape
    return layers


@pytest.mark.parametrize("bias, expected", [("position", 4_191_562), ("channel", 4_182_250)])
def test_mnist_lc_parameter_count(bias, expected):
    """Paper's MNIST LC: (28, 28, 1) -> LC 3x3/32/s2 -> LC 3x3/64/s2 -> dense 1024 -> softmax 10, ~4.19 M."""
    layers = build_stack((28, 28, 1), [(3, 32, 2), (3, 64, 2)], bias)
    assert [layer.out_shape for layer in layers] == [(14, 14, 32), (7, 7, 64), (1024,), (10,)]
    assert sum(layer.parameter_count() for layer in layers) == expected


@pytest.mark.slow
@pytest.mark.parametrize("bias, expected", [("position", 50_039_818), ("channel", 49_999_306)])
def test_cifar_lc_parameter_count(bias, expected):
    """Paper's CIFAR LC: (32, 32, 3) -> LC 5x5/64/s2 -> 5x5/128/s2 -> 3x3/256/s1 -> dense 1024 -> softmax 10, ~50.0 M."""
    layers = build_stack((32, 32, 3), [(5, 64, 2), (5, 128, 2), (3, 256, 1)], bias)
    assert [layer.out_shape for layer in layers] == [(16, 16, 64), (8, 8, 128), (8, 8, 256), (1024,), (10,)]
    assert sum(layer.parameter_count() for layer in layers) == expected


def test_bp_through_lc_layers_equals_autograd():
    """End to end: the bp rule's gradients in an LC -> LC -> dense -> softmax net equal torch's."""
    from localnet.config import parse_config
    from localnet.network import build_network

    raw = {"name": "lc_bp", "dtype": "float64", "rule": {"name": "bp"}, "layers": [
        {"type": "locally_connected", "kernel": 3, "channels": 4, "stride": 2},
        {"type": "locally_connected", "kernel": 2, "channels": 3, "bias": "channel"},
        {"type": "dense", "units": 5}, {"type": "softmax", "units": 3}]}
    net = build_network(parse_config(raw), get_backend("numpy", "float64"), (7, 8, 2), 3)
    rng = np.random.default_rng(0)
    for node in net.nodes:  # non-zero biases so their path is checked too
        node.params["b"][...] = rng.normal(size=node.params["b"].shape)
    before = [{k: torch.tensor(v.copy(), requires_grad=True) for k, v in node.params.items()} for node in net.nodes]
    x, labels = rng.random((4, 7, 8, 2)), np.array([0, 1, 2, 0])
    net.step(0, x, np.eye(3)[labels])

    h = torch.tanh(torch_lc(torch.tensor(x), before[0]["W"], before[0]["b"], 3, 2))
    h = torch.tanh(torch_lc(h, before[1]["W"], before[1]["b"], 2, 1))
    h = torch.tanh(h.reshape(4, -1) @ before[2]["W"] + before[2]["b"])
    F.cross_entropy(h @ before[3]["W"] + before[3]["b"], torch.tensor(labels)).backward()
    for node, params in zip(net.nodes, before):
        for key, grad in node.grads.items():
            assert rel_err(grad, params[key].grad.numpy()) < 1e-10, f"{node.name}/{key}"


def test_fa_feedback_for_lc_layers_has_the_lc_weight_shape():
    """FA's fixed B of an LC layer has W's (P, K, C_out) shape and conv-fan scale, so the
    layer's own transpose (col2im) carries B^T delta down unchanged."""
    from localnet.config import parse_config
    from localnet.network import build_network

    raw = {"name": "lc_fa", "dtype": "float64", "rule": {"name": "fa"}, "layers": [
        {"type": "locally_connected", "kernel": 3, "channels": 4, "stride": 2},
        {"type": "locally_connected", "kernel": 3, "channels": 6, "stride": 2},
        {"type": "dense", "units": 5}, {"type": "softmax", "units": 3}]}
    net = build_network(parse_config(raw), get_backend("numpy", "float64"), (9, 9, 1), 3)
    second = net.nodes[1]
    b = second.state.arrays["B"]
    assert b.shape == second.layer.params["W"].shape == (9, 36, 6)
    assert np.abs(b).max() <= np.sqrt(6 / (9 * 4 + 9 * 6))
    x = np.random.default_rng(0).random((2, 9, 9, 1))
    probs = net.step(0, x, np.eye(3)[[0, 2]])
    assert probs.shape == (2, 3) and np.isfinite(probs).all()


@pytest.mark.parametrize("kind", ["locally_connected", "conv"])
def test_kept_patches_serve_only_the_array_they_came_from(kind):
    """forward(x, keep=True) keeps x's im2col for weight_grads(x, d): the same gradient,
    bit for bit, as recomputing; any other array (equal values or not) recomputes, and the
    columns serve one update only."""
    backend, rng = get_backend("numpy", "float64"), np.random.default_rng(0)
    spec = LAYERS.get(kind).Spec(kernel=3, channels=4, stride=2)
    layer = LAYERS.get(kind)(spec, (7, 6, 3), backend, np.random.default_rng(1))
    x, y = rng.normal(size=(5, 7, 6, 3)), rng.normal(size=(5, 7, 6, 3))
    d = rng.normal(size=(5, *layer.out_shape))
    cold = layer.weight_grads(x, d)["W"]
    a, _ = layer.forward(x, keep=True)
    np.testing.assert_array_equal(a, layer.affine(x, layer.params["W"], layer.params["b"]))
    np.testing.assert_array_equal(layer.weight_grads(x, d)["W"], cold)  # served from the kept columns
    assert layer.kept.take(x) is None  # and forgotten
    layer.forward(x, keep=True)
    np.testing.assert_array_equal(layer.weight_grads(y, d)["W"], layer.weight_grads(y.copy(), d)["W"])
    assert not np.array_equal(layer.weight_grads(y, d)["W"], cold)
    np.testing.assert_array_equal(layer.weight_grads(x.copy(), d)["W"], cold)
    assert layer.kept_per_example() == layer.geometry.positions * 9 * 3
