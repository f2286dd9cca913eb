"""Oracle: the bp rule's local updates (before Adam) equal torch autograd gradients in float64,
on every backend (relative 1e-10 of the largest gradient entry)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_config
from hypothesis import given, strategies as st

from localnet.network import build_network

ACTIVATIONS = ["tanh", "identity", "relu", "sigmoid"]


def torch_gradients(params: dict[str, np.ndarray], layers: int, x: np.ndarray, labels: np.ndarray,
                    activation: str) -> dict[str, np.ndarray]:
    """Autograd of the mean cross-entropy of the same network, h = act(h W + b)."""
    act = {"tanh": torch.tanh, "identity": lambda a: a, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(x, dtype=torch.float64)
    for i in range(1, layers + 1):
        a = h @ tensors[f"layer{i}/W"] + tensors[f"layer{i}/b"]
        h = a if i == layers else act(a)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(labels))
    loss.backward()
    return {k: t.grad.numpy() for k, t in tensors.items()}


@given(
    hidden=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    inputs=st.integers(1, 8),
    classes=st.integers(2, 6),
    batch=st.integers(1, 7),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**16),
)
def test_bp_updates_equal_autograd(backend64, hidden, inputs, classes, batch, activation, seed):
    backend = backend64
    config = tiny_config("bp", hidden, classes, activation, seed=seed, dtype="float64")
    net = build_network(config, backend, (inputs,), classes)
    rng = np.random.default_rng(seed)
    for node in net.nodes:  # non-zero biases so the oracle also checks their path
        node.params["b"][...] = backend.to_device(rng.normal(size=node.params["b"].shape))
    before = {k: backend.to_host(v).copy() for k, v in net.parameters().items()}
    x, labels, onehot = random_batch(seed, batch, inputs, classes)
    net.step(0, backend.to_device(x), backend.to_device(onehot))
    expected = torch_gradients(before, len(net.nodes), x, labels, activation)
    for node in net.nodes:
        for key, grad in node.grads.items():
            grad = backend.to_host(grad)
            want = expected[f"{node.name}/{key}"]
            scale = max(np.abs(want).max(), 1e-300)
            assert np.abs(grad - want).max() / scale < 1e-10, f"{node.name}/{key}"


def test_oracle_detects_a_wrong_gradient():
    """The comparison itself can fail: a perturbed gradient is caught."""
    x, labels, _ = random_batch(1, 4, 3, 2)
    params = {"layer1/W": np.ones((3, 2)), "layer1/b": np.zeros(2)}
    good = torch_gradients(params, 1, x, labels, "tanh")["layer1/W"]
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(good * (1 + 1e-6), good, rtol=1e-10)
