"""Oracle: each TP local loss's gradient equals torch autograd of that single loss, float64,
on every backend (relative 1e-10 of the largest entry), for every registered target-propagation rule."""

from __future__ import annotations

import copy

import numpy as np
import torch
from helpers import random_batch
from hypothesis import given, strategies as st

from localnet.config import parse_config
from localnet.network import build_network
from localnet.registry import RULES as REGISTRY
from localnet.rules import TargetRule
from localnet.testing import rule_names

RULES = [name for name in rule_names() if issubclass(REGISTRY.get(name), TargetRule)]


def build(backend, rule, hidden, inputs, classes, seed, **options):
    raw = {"name": "t", "seed": seed, "dtype": "float64",
           "layers": [{"type": "dense", "units": u} for u in hidden] + [{"type": "softmax", "units": classes}],
           "rule": {"name": rule, **options}}
    if rule == "aosdtp":
        raw["rule"].setdefault("aux_units", 3)
    return build_network(parse_config(raw), backend, (inputs,), classes)


def close(ours, theirs):
    ours = np.asarray(ours.get() if hasattr(ours, "get") else ours)  # a CuPy array comes to the host
    theirs = theirs.detach().numpy()
    scale = max(np.abs(theirs).max(), 1e-300)
    assert np.abs(ours - theirs).max() / scale < 1e-10


def t(array, grad=False):
    array = array.get() if hasattr(array, "get") else array  # CuPy -> host
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


shapes = dict(hidden=st.lists(st.integers(2, 7), min_size=2, max_size=3), inputs=st.integers(1, 6),
              classes=st.integers(2, 4), batch=st.integers(1, 5), seed=st.integers(0, 2**16))


REDUCE = {"batch_mean": lambda sq: sq.sum() / sq.shape[0], "mean": lambda sq: sq.mean(), "sum": lambda sq: sq.sum()}


@given(rule=st.sampled_from(RULES), reduction=st.sampled_from(sorted(REDUCE)), **shapes)
def test_forward_losses_match_autograd(backend64, rule, reduction, hidden, inputs, classes, batch, seed):
    """Hidden layers: ||tanh(x W + b) - t||^2 reduced as `local_loss` says (default: sum
    over units, batch mean); output: cross-entropy (batch mean)."""
    net = build(backend64, rule, hidden, inputs, classes, seed, schedule="parallel", local_loss=reduction)
    x, labels, onehot = random_batch(seed, batch, inputs, classes)
    x, onehot = backend64.to_device(x), backend64.to_device(onehot)
    seen = {}
    net.engine.add_tap(lambda m: seen.__setitem__(m.dst, m.payload) if m.kind == "target" else None)
    before = {n.name: (n.params["W"].copy(), n.params["b"].copy()) for n in net.nodes}
    xs = {}
    net.engine.add_tap(lambda m: xs.__setitem__(m.dst, m.payload) if m.kind == "forward" else None)
    net.step(0, x, onehot)
    for node in net.nodes:
        W, b = t(before[node.name][0], True), t(before[node.name][1], True)
        a = t(xs[node.name]) @ W + b
        if node.layer.is_output:
            loss = torch.nn.functional.cross_entropy(a, torch.tensor(labels))
        else:
            loss = REDUCE[reduction]((torch.tanh(a) - t(seen[node.name])) ** 2)
        loss.backward()
        close(node.grads["W"], W.grad)
        close(node.grads["b"], b.grad)


@given(rule=st.sampled_from(RULES), noise=st.sampled_from(["preserving", "denoising"]),
       sigma=st.sampled_from([0.0, 0.2]), reduction=st.sampled_from(sorted(REDUCE)), **shapes)
def test_inverse_losses_match_autograd(backend64, rule, noise, sigma, reduction, hidden, inputs, classes, batch, seed):
    """Inverse at layer l: ||tanh(f(x~) V^T + c) - r||^2, r = x~ (preserving) or x (denoising),
    reduced as `inverse_loss` says."""
    net = build(backend64, rule, hidden, inputs, classes, seed, schedule="alternating", noise=noise, sigma=sigma,
                inverse_loss=reduction)
    x, _, onehot = random_batch(seed, batch, inputs, classes)
    x, onehot = backend64.to_device(x), backend64.to_device(onehot)
    nodes = [n for n in net.nodes if n.state.optimizers]
    state = {n.name: (copy.deepcopy(n.state.rng), {k: v.copy() for k, v in n.state.arrays.items()},
                      n.params["W"].copy(), n.params["b"].copy()) for n in nodes}
    xs = {}
    net.engine.add_tap(lambda m: xs.__setitem__(m.dst, m.payload) if m.kind == "forward" else None)
    net.step(0, x, onehot, net.rule.passes()[0])  # the inverse pass
    for node in nodes:
        rng, fb, W, b = state[node.name]
        clean = xs[node.name]
        # the same draw the rule makes from its own stream (a copy taken before the step)
        noisy = clean + sigma * rng.standard_normal(clean.shape, dtype=clean.dtype) if sigma > 0 else clean
        V, c = t(fb["V"], True), t(fb["c"], True)
        a = t(noisy) @ t(W) + t(b)
        y = torch.softmax(a, dim=1) if node.layer.is_output else torch.tanh(a)
        if "A" in fb:
            y = torch.cat([y, torch.tanh(t(noisy) @ t(fb["A"]) + t(fb["a"]))], dim=1)
        recon = torch.tanh(y @ V.T + c)
        goal = t(noisy if noise == "preserving" else clean)
        REDUCE[reduction]((recon - goal) ** 2).backward()
        close(node.state.grads["inverse"]["V"], V.grad)
        close(node.state.grads["inverse"]["c"], c.grad)


@given(**shapes)
def test_aosdtp_penultimate_target_is_the_difference_through_the_output_inverse(backend64, hidden, inputs, classes,
                                                                               batch, seed):
    """t_{L-1} = h_{L-1} + g([labels, z]) - g([o, z]), g(u) = tanh(u V^T + c) over the
    concatenated [classes, aux] input and z = tanh(h_{L-1} A + a), written out in torch, with
    the output inverse's V, c as they were at the forward pass (the parallel step, Algorithm 1)."""
    net = build(backend64, "aosdtp", hidden, inputs, classes, seed, schedule="parallel")
    x, _, onehot = random_batch(seed, batch, inputs, classes)
    x, onehot = backend64.to_device(x), backend64.to_device(onehot)
    seen = {}
    net.engine.add_tap(lambda m: seen.__setitem__(m.dst, m.payload) if m.kind == "target" else None)
    out = net.output
    f = {k: t(v) for k, v in out.state.arrays.items()}  # copies, taken before the step
    net.step(0, x, onehot)
    z = torch.tanh(t(out.x) @ f["A"] + f["a"])

    def g(o):
        return torch.tanh(torch.cat([o, z], dim=1) @ f["V"].T + f["c"])

    expected = t(out.x) + g(t(onehot)) - g(t(out.h))
    close(seen[net.nodes[-2].name], expected)
