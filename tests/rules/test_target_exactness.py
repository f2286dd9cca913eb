"""Exactness: with exact inverses DTP moves targets exactly; at the optimum nothing moves."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from helpers import random_batch
from hypothesis import given, strategies as st

from localnet.backend import get_backend
from localnet.config import parse_config
from localnet.network import build_network
from localnet.registry import RULES
from localnet.rules import TargetRule
from localnet.schedule import FORWARD, TARGET
from localnet.testing import rule_names

#: target-propagation rules with the difference correction (every TargetRule that keeps its
#: t_{l-1} = h_{l-1} + g(t_l) - g(h_l); vanilla tp replaces it)
DIFFERENCE_RULES = [r for r in rule_names() if issubclass(RULES.get(r), TargetRule)
                    and RULES.get(r).target_below is TargetRule.target_below]


def network(rule, widths, classes, seed, activation="tanh", inverse_activation="tanh"):
    raw = {"name": "t", "seed": seed, "dtype": "float64",
           "layers": [{"type": "dense", "units": u, "activation": activation} for u in widths]
           + [{"type": "softmax", "units": classes}],
           "rule": {"name": rule, "inverse_activation": inverse_activation}}
    if "aux_units" in {f.name for f in dataclasses.fields(RULES.get(rule).Options)}:
        raw["rule"]["aux_units"] = 4
    return build_network(parse_config(raw), get_backend("numpy", "float64"), (widths[0],), classes)


def targets_of(net, x, onehot):
    seen = {}
    net.engine.add_tap(lambda m: seen.__setitem__(m.dst, m.payload) if m.kind == "target" and m.src != "input" else None)
    net.step(0, x, onehot, (FORWARD, TARGET))
    return seen


@pytest.mark.slow
@given(width=st.integers(2, 6), depth=st.integers(2, 4), batch=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_dtp_with_exact_inverses_propagates_targets_exactly(width, depth, batch, seed):
    """Identity activations, square well-conditioned W, V = W^-T, c = -b W^-1: then
    t_{l-1} = h_{l-1} + g(t_l) - g(h_l) = f_l^{-1}(t_l), so f_l(t_{l-1}) == t_l."""
    net = network("dtp", [width] * depth, 3, seed, activation="identity", inverse_activation="identity")
    rng = np.random.default_rng(seed)
    for node in net.nodes[:-1]:
        q, _ = np.linalg.qr(rng.normal(size=(width, width)))
        node.params["W"][...] = q * rng.uniform(0.5, 2.0, size=width)  # invertible, well conditioned
        node.params["b"][...] = rng.normal(size=width)
        if node.state.arrays:
            inv = np.linalg.inv(node.params["W"])
            node.state.arrays["V"][...] = inv.T
            node.state.arrays["c"][...] = -node.params["b"] @ inv
    x, _, onehot = random_batch(seed, batch, width, 3)
    weights = {n.name: (n.params["W"].copy(), n.params["b"].copy()) for n in net.nodes}
    seen = targets_of(net, x, onehot)
    names = [n.name for n in net.nodes]
    for lower, upper in itertools.pairwise(names[:-1]):  # each hidden layer's map takes t_{l-1} to t_l
        W, b = weights[upper]
        np.testing.assert_allclose(seen[lower] @ W + b, seen[upper], rtol=1e-9, atol=1e-9)
    assert not np.array_equal(seen[names[-2]], net.nodes[-2].h)  # the penultimate target did move


def test_the_difference_rules_are_found():
    assert {"dtp", "sdtp"} <= set(DIFFERENCE_RULES)  # else the test below checks nothing


@pytest.mark.parametrize("rule", DIFFERENCE_RULES)
@given(widths=st.lists(st.integers(2, 6), min_size=2, max_size=4), batch=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_at_the_target_every_hidden_target_is_the_activation(rule, widths, batch, seed):
    """When the output already equals its target (labels := p), every hidden target is
    exactly h_l and every forward update is zero."""
    net = network(rule, widths, 3, seed)
    x, _, _ = random_batch(seed, batch, widths[0], 3)
    probs = net.predict(x).copy()
    seen = targets_of(net, x, probs)
    for node in net.nodes[:-1]:
        assert np.array_equal(seen[node.name], node.h), node.name
    for node in net.nodes:
        assert all(not np.any(g) for g in node.grads.values()), node.name
