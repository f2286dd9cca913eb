"""Locality by property: no rule but BP lets forward weights reach a feedback message.

Run the forward phase, overwrite every layer's forward W and b with fresh random values,
then run the learning phases. For a local rule every feedback/target message is
bit-identical to the run without the overwrite; for BP the same test sees a difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import random_batch, tiny_config
from localnet.backend import get_backend
from localnet.network import build_network

LOCAL_RULES = ["fa", "dfa"]
LEARNING_KINDS = ("feedback", "target")


def learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite):
    """Messages of the learning phases (after forward), optionally after overwriting W, b."""
    backend = get_backend("numpy", "float64")
    net = build_network(tiny_config(rule, hidden, classes, seed=seed, dtype="float64"), backend, (inputs,), classes)
    x, _, onehot = random_batch(seed, batch, inputs, classes)
    forward, *learning = net.rule.passes()[-1]
    net.run_phase(0, forward, 0, x, onehot)
    if overwrite:
        rng = np.random.default_rng(seed + 1)
        for node in net.nodes:
            for key in ("W", "b"):
                node.params[key][...] = rng.normal(size=node.params[key].shape)
    seen = []
    net.engine.add_tap(lambda m: seen.append(m) if m.kind in LEARNING_KINDS and m.src != "input" else None)
    for order, phase in enumerate(learning, start=1):
        net.run_phase(0, phase, order, x, onehot)
    return seen, net


shapes = dict(
    hidden=st.lists(st.integers(2, 8), min_size=2, max_size=4),
    inputs=st.integers(1, 6),
    classes=st.integers(2, 5),
    batch=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)


@pytest.mark.parametrize("rule", LOCAL_RULES)
@given(**shapes)
def test_local_rules_send_no_forward_weights(rule, hidden, inputs, classes, batch, seed):
    clean, _ = learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite=False)
    dirty, _ = learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite=True)
    assert clean, "the learning phases sent no messages"
    assert [(m.src, m.dst, m.kind) for m in clean] == [(m.src, m.dst, m.kind) for m in dirty]
    for a, b in zip(clean, dirty):
        assert np.array_equal(a.payload, b.payload), f"{a.src} -> {a.dst} {a.kind} depends on forward weights"


@given(**shapes)
def test_the_same_test_catches_bp_weight_transport(hidden, inputs, classes, batch, seed):
    clean, _ = learning_messages("bp", hidden, inputs, classes, batch, seed, overwrite=False)
    dirty, _ = learning_messages("bp", hidden, inputs, classes, batch, seed, overwrite=True)
    assert any(not np.array_equal(a.payload, b.payload) for a, b in zip(clean, dirty))


@pytest.mark.parametrize("rule", ["bp", *LOCAL_RULES])
@given(**shapes)
def test_every_layer_gets_a_nonzero_update(rule, hidden, inputs, classes, batch, seed):
    _, net = learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite=False)
    for node in net.nodes:
        assert node.grads, f"{node.name} was not updated"
        assert any(np.abs(g).max() > 0 for g in node.grads.values()), f"{node.name} got a zero update"
