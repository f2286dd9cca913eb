"""The angle probe: the side BP analysis is the true gradient (torch oracle), the angle is 0
for bp at every layer, FA starts near 90 degrees in hidden layers and aligns with training,
and the analysis's cost is reported."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_config
from hypothesis import given, strategies as st
from record.recording_helpers import small_config, train

from localnet import build_network, get_backend, parse_config
from localnet.record import RecordConfig, Recorder, RecordReader
from localnet.record.angle import ForwardState, angle_degrees, true_gradients


def test_angle_degrees_known_cases():
    u = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert angle_degrees(u, u * 3.5, np) == 0.0
    assert angle_degrees(u, np.array([[0.0, 2.0], [0.0, 0.0]]), np) == pytest.approx(90.0, abs=1e-12)
    assert angle_degrees(u, -u, np) == pytest.approx(180.0, abs=1e-12)
    assert angle_degrees(u, np.array([[1.0, 1.0], [0.0, 0.0]]), np) == pytest.approx(45.0, abs=1e-12)
    assert np.isnan(angle_degrees(u, np.zeros_like(u), np))
    rng = np.random.default_rng(0)
    w = rng.normal(size=(300, 200)).astype(np.float32)
    assert angle_degrees(w, w.copy(), np) == 0.0
    bent = w.copy()
    bent[0, 0] += 1e-3  # a tiny angle, where a float32 acos(cos) would say 0 or 0.02
    exact = angle_degrees(w.astype(np.float64), bent.astype(np.float64), np)
    assert 1e-5 < exact < 1e-3 and angle_degrees(w, bent, np) == pytest.approx(exact, rel=1e-3)
    near = np.array([1.0, 1e-4])
    assert angle_degrees(near, np.array([1.0, 0.0]), np) == pytest.approx(np.degrees(1e-4), rel=1e-6)


@given(hidden=st.lists(st.integers(1, 7), min_size=1, max_size=3), inputs=st.integers(1, 6),
       classes=st.integers(2, 5), batch=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_true_gradients_equal_autograd_with_the_snapshot_weights(hidden, inputs, classes, batch, seed):
    """The analysis differentiates the network as it was at the forward pass: it is given
    the snapshot W, and the layers' current parameters (here: garbage) are not used."""
    backend = get_backend("numpy", "float64")
    net = build_network(tiny_config("bp", hidden, classes, seed=seed, dtype="float64"), backend, (inputs,), classes)
    rng = np.random.default_rng(seed)
    x, labels, onehot = random_batch(seed, batch, inputs, classes)
    weights = [rng.normal(size=n.params["W"].shape) for n in net.nodes]
    biases = [rng.normal(size=n.params["b"].shape) for n in net.nodes]
    states, h = [], x
    for node, w, b in zip(net.nodes, weights, biases):
        a = node.layer.affine(h, w, b)
        out = node.layer.activation(np, a)
        states.append(ForwardState(h, a, out, w))
        h = out
    for node in net.nodes:
        node.params["W"][...] = np.nan  # must not be read
    grads = true_gradients([n.layer for n in net.nodes], states, onehot)

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    th = torch.tensor(x)
    for i, (w, b) in enumerate(zip(tw, biases)):
        a = th @ w + torch.tensor(b)
        th = a if i == len(tw) - 1 else torch.tanh(a)
    torch.nn.functional.cross_entropy(th, torch.tensor(labels)).backward()
    for grad, w in zip(grads, tw):
        np.testing.assert_allclose(grad, w.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bp_angle_is_zero_at_every_layer(tmp_path, dtype):
    record = RecordConfig(enabled=True, every=1, chunk=4, probes=("act_mean",), angle=True)
    train(small_config("bp", hidden=(16, 12, 12)), record, tmp_path / "r.zarr", n=40, epochs=2, dtype=dtype)
    reader = RecordReader(tmp_path / "r.zarr")
    for layer in reader.layers:
        angle = reader.read(layer, "angle")
        assert angle.shape == (10,) and np.all(np.abs(angle) < 1e-3), (layer, angle)


def test_bp_angle_is_zero_through_locally_connected_layers(tmp_path):
    config = parse_config({"name": "lc", "rule": {"name": "bp"}, "layers": [
        {"type": "locally_connected", "kernel": 3, "channels": 2, "stride": 2},
        {"type": "dense", "units": 6}, {"type": "softmax", "units": 3}]})
    backend = get_backend("numpy", "float32")
    net = build_network(config, backend, (6, 6, 1), 3)
    recorder = Recorder(RecordConfig(every=1, chunk=4, probes=(), angle=True), net, tmp_path / "r.zarr",
                        seed=0, batch_size=5)
    rng = np.random.default_rng(0)
    for step in range(3):
        net.step(step, rng.random((5, 6, 6, 1), dtype=np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)])
        recorder.end_step(step, 1)
    recorder.close()
    reader = RecordReader(tmp_path / "r.zarr")
    for layer in reader.layers:
        assert np.all(np.abs(reader.read(layer, "angle")) < 1e-3)


def test_fa_angle_starts_near_90_and_decreases_with_training(tmp_path):
    """The alignment effect on a learnable synthetic task (5 Gaussian clusters in 30-d):
    FA's hidden updates start orthogonal to the gradient and turn towards it."""
    config = tiny_config("fa", [64, 64], 5, data={"batch_size": 32})
    net = build_network(config, get_backend("numpy", "float64"), (30,), 5)
    recorder = Recorder(RecordConfig(every=10, chunk=8, probes=(), angle=True), net, tmp_path / "r.zarr",
                        seed=0, batch_size=32)
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(5, 30))
    for step in range(300):
        y = rng.integers(0, 5, 32)
        net.step(step, centers[y] + rng.normal(size=(32, 30)), np.eye(5)[y])
        recorder.end_step(step, 1)
    recorder.close()
    reader = RecordReader(tmp_path / "r.zarr")
    for layer in ("layer1", "layer2"):
        angle = reader.read(layer, "angle")
        assert 80 < angle[:3].mean() < 100, angle[:3]
        assert angle[-3:].mean() < angle[:3].mean() - 15, angle
    assert np.all(reader.read("layer3", "angle") < 1e-6)  # the output layer's update is the gradient


def test_angle_cost_is_reported_only_when_on(tmp_path):
    record = RecordConfig(enabled=True, every=1, chunk=4, probes=("act_mean",))
    _, off = train(small_config("fa"), record, tmp_path / "off.zarr", epochs=1)
    _, on = train(small_config("fa"), RecordConfig(**{**record.__dict__, "angle": True}), tmp_path / "on.zarr", epochs=1)
    assert off.cost()["angle_seconds"] == 0 and on.cost()["angle_seconds"] > 0
    assert "angle" not in RecordReader(tmp_path / "off.zarr").probes("layer1")
    assert RecordReader(tmp_path / "on.zarr").attrs["cost"]["angle_seconds"] == on.cost()["angle_seconds"]
