"""Conv layer (shared weights): torch conv2d with TF-SAME padding as the oracle, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings, strategies as st
from layer_oracle import assert_adjoint, assert_matches_autograd

from localnet.backend import get_backend
from localnet.layers import Conv, ConvSpec
from localnet.registry import LAYERS

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
shapes = st.fixed_dictionaries({
    "h": st.integers(1, 9), "w": st.integers(1, 9), "c_in": st.integers(1, 4), "c_out": st.integers(1, 4),
    "kernel": st.integers(1, 5), "stride": st.integers(1, 3), "batch": st.integers(1, 4),
})


def torch_conv_same(x: torch.Tensor, kernel_tf: torch.Tensor, bias: torch.Tensor, stride: int) -> torch.Tensor:
    """TF-SAME conv2d on channel-last tensors: x (B, H, W, C_in), kernel (k, k, C_in, C_out)."""
    k = kernel_tf.shape[0]

    def pads(size: int) -> tuple[int, int]:
        total = max((-(-size // stride) - 1) * stride + k - size, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = pads(x.shape[1]), pads(x.shape[2])
    xt = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    weight = kernel_tf.permute(3, 2, 0, 1).contiguous()  # OIHW; torch's slow_conv2d wants it contiguous
    return F.conv2d(xt, weight, bias, stride=stride).permute(0, 2, 3, 1)


@fixture_ok
@given(s=shapes, seed=st.integers(0, 2**16))
def test_conv_equals_torch_conv2d_and_autograd(s, seed, backend64):
    """Forward equals conv2d; weight_grads and transpose equal autograd of <conv(x), delta>."""
    rng = np.random.default_rng(seed)
    layer = Conv(ConvSpec(kernel=s["kernel"], channels=s["c_out"], stride=s["stride"]),
                 (s["h"], s["w"], s["c_in"]), backend64, rng)
    kernel_tf = rng.normal(size=(s["kernel"], s["kernel"], s["c_in"], s["c_out"]))
    weight = kernel_tf.reshape(-1, s["c_out"])  # (K, C_out), K ordered (ki, kj, c)
    assert weight.shape == layer.params["W"].shape
    bias = rng.normal(size=s["c_out"])
    x = rng.normal(size=(s["batch"], s["h"], s["w"], s["c_in"]))
    delta = rng.normal(size=(s["batch"], *layer.out_shape))
    assert_matches_autograd(layer, backend64, x, weight, bias, delta,
                            lambda xt, kt, bt: torch_conv_same(xt, kt, bt, s["stride"]), torch_weight=kernel_tf)


@given(s=shapes, seed=st.integers(0, 2**16))
def test_conv_transpose_is_the_adjoint_of_affine(s, seed):
    backend = get_backend("numpy", "float64")
    rng = np.random.default_rng(seed)
    layer = Conv(ConvSpec(kernel=s["kernel"], channels=s["c_out"], stride=s["stride"]),
                 (s["h"], s["w"], s["c_in"]), backend, rng)
    assert_adjoint(layer, rng, s["batch"])


def test_conv_shapes_and_init():
    layer = Conv(ConvSpec(kernel=5, channels=64, stride=2), (32, 32, 3), get_backend("numpy", "float32"),
                 np.random.default_rng(0))
    assert layer.out_shape == (16, 16, 64)
    assert layer.params["W"].shape == (75, 64) and layer.params["b"].shape == (64,)
    assert layer.parameter_count() == 75 * 64 + 64 and layer.fans == (75, 25 * 64)
    assert np.abs(layer.params["W"]).max() <= np.sqrt(6 / (25 * 3 + 25 * 64))
    assert LAYERS.get("conv") is Conv


def test_conv_rejects_position_bias():
    with pytest.raises(ValueError, match="conv layers have one bias per channel: bias must be 'channel'"):
        ConvSpec(kernel=3, channels=8, bias="position")


@pytest.mark.parametrize("fields, message", [
    ({"kernel": 0, "channels": 4}, "kernel must be an integer >= 1"),
    ({"kernel": 3, "channels": 0}, "channels must be an integer >= 1"),
    ({"kernel": 3, "channels": 4, "stride": -2}, "stride must be an integer >= 1"),
    ({"kernel": 3, "channels": 4, "activation": "softmax"}, "unknown activation 'softmax'"),
])
def test_conv_bad_spec_is_a_clear_error(fields, message):
    with pytest.raises(ValueError, match=message):
        ConvSpec(**fields)


def test_conv_non_image_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"conv layer needs an image input of unit shape \(H, W, C\)"):
        Conv(ConvSpec(kernel=3, channels=4), (784,), get_backend(), np.random.default_rng(0))
