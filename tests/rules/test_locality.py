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
from localnet.config import parse_config
from localnet.network import build_network
from localnet.registry import RULES

LOCAL_RULES = ["fa", "dfa", "tp", "sdtp", "aosdtp"]  # never transport weights
ALL_RULES = ["bp", "dtp", *LOCAL_RULES]
LEARNING_KINDS = ("feedback", "target")


def make(rule, hidden, inputs, classes, seed, arch="fc"):
    """A tiny FC net, or (arch="lc") LC -> LC -> flatten -> dense -> softmax on (5, 5, inputs) images."""
    options = {"aux_units": 3} if rule == "aosdtp" else {}
    if arch == "fc":
        config = tiny_config(rule, hidden, classes, rule_options=options, seed=seed, dtype="float64")
        return build_network(config, get_backend("numpy", "float64"), (inputs,), classes)
    layers = [{"type": "locally_connected", "kernel": 3, "channels": hidden[0], "stride": 2},
              {"type": "locally_connected", "kernel": 3, "channels": hidden[1], "stride": 1, "bias": "channel"},
              {"type": "flatten"}, {"type": "dense", "units": 5}, {"type": "softmax", "units": classes}]
    config = parse_config({"name": "lc", "seed": seed, "dtype": "float64", "layers": layers,
                           "rule": {"name": rule, **options}})
    return build_network(config, get_backend("numpy", "float64"), (5, 5, inputs), classes)


def overwrite_forward_weights(net, seed):
    rng = np.random.default_rng(seed + 1)
    for node in net.nodes:
        for key in node.params:  # W and b (flatten has none)
            node.params[key][...] = rng.normal(size=node.params[key].shape)


def learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite):
    """Messages of the learning phases (after forward), optionally after overwriting W, b."""
    net = make(rule, hidden, inputs, classes, seed)
    x, _, onehot = random_batch(seed, batch, inputs, classes)
    forward, *learning = net.rule.passes()[-1]
    net.run_phase(0, forward, 0, x, onehot)
    if overwrite:
        overwrite_forward_weights(net, seed)
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


@pytest.mark.parametrize("rule", ALL_RULES)
@given(**shapes)
def test_every_layer_gets_a_nonzero_update(rule, hidden, inputs, classes, batch, seed):
    _, net = learning_messages(rule, hidden, inputs, classes, batch, seed, overwrite=False)
    for node in net.nodes:
        assert node.grads, f"{node.name} was not updated"
        assert any(np.abs(g).max() > 0 for g in node.grads.values()), f"{node.name} got a zero update"


def per_hop_differences(rule, hidden, inputs, classes, batch, seed, arch="fc"):
    """Names of the nodes whose emitted learning messages depend on forward weights.

    Twin networks run the forward sweep; the twin's W, b are then overwritten. Each
    message delivered in the twin is also handed to the clean network's node, and the two
    nodes' emissions are compared: a difference can only come from forward weights, since
    both nodes got the same message and hold the same cache, feedback weights and inverses.
    """
    clean, dirty = make(rule, hidden, inputs, classes, seed, arch), make(rule, hidden, inputs, classes, seed, arch)
    x, _, onehot = random_batch(seed, batch, inputs * (25 if arch == "lc" else 1), classes)
    x = x.reshape(batch, *clean.nodes[0].layer.in_shape)
    forward, *learning = dirty.rule.passes()[-1]
    for net in (clean, dirty):
        net.run_phase(0, forward, 0, x, onehot)
    overwrite_forward_weights(dirty, seed)
    differing, hops = set(), 0
    for twin, node in zip(clean.nodes, dirty.nodes):
        def handle(message, twin=twin, own=node.handle, name=node.name):
            nonlocal hops
            ours, theirs = own(message), twin.handle(message)
            assert [k for k, _ in ours] == [k for k, _ in theirs]
            hops += 1
            if any(not np.array_equal(a, b) for (_, a), (_, b) in zip(ours, theirs)):
                differing.add(name)
            return ours
        node.handle = handle
    for order, phase in enumerate(learning, start=1):
        dirty.run_phase(0, phase, order, x, onehot)
    assert hops >= len(dirty.nodes)
    return differing, [n.name for n in dirty.nodes]


@pytest.mark.parametrize("arch", ["fc", "lc"])
@pytest.mark.parametrize("rule", ALL_RULES)
@given(**shapes)
def test_only_declared_weight_transport_reaches_messages(rule, arch, hidden, inputs, classes, batch, seed):
    """Per hop: BP's every sender with weights, DTP's output layer only (its penultimate
    target), no other; on fully-connected and on locally-connected networks."""
    differing, names = per_hop_differences(rule, hidden, inputs, classes, batch, seed, arch)
    declared = RULES.get(rule).transports_weights
    if declared == "never":
        assert differing == set()
    elif declared == "penultimate":
        assert differing == {names[-1]}  # the output layer, which sends the penultimate target
    else:
        flatten = {n for n in names if n == "layer3"} if arch == "lc" else set()
        assert differing == set(names[1:]) - flatten  # every layer with W that sends feedback down


@given(**shapes)
def test_dtp_penultimate_target_changes_in_the_whole_run(hidden, inputs, classes, batch, seed):
    clean, _ = learning_messages("dtp", hidden, inputs, classes, batch, seed, overwrite=False)
    dirty, _ = learning_messages("dtp", hidden, inputs, classes, batch, seed, overwrite=True)
    first = next(i for i, m in enumerate(clean) if m.kind == "target")
    assert not np.array_equal(clean[first].payload, dirty[first].payload)
