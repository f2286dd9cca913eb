"""The generated-feedback DFA: B_l is never stored, is the same every step and for every
tile size, and the update equals stored-B DFA's with the materialised B_l."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

from localnet.backend import get_backend
from localnet.network import build_network
from localnet.plan import plan
from localnet.rules import dfa_generated
from localnet.rules.dfa_generated import feedback_rows
from localnet.testing.nets import example_batch, example_config, example_layers

BACKEND = get_backend("numpy", "float64")


def networks(kind: str, tile_rows: int, seed: int = 3):
    """(generated-DFA network, stored-DFA network with B_l := the generated B_l, input shape)."""
    _tables, in_shape = example_layers(kind)
    config = example_config("dfa_generated", kind, seed, "float64", {"tile_rows": tile_rows})
    generated = build_network(config, BACKEND, in_shape, config.layers[-1].units)
    stored = build_network(example_config("dfa", kind, seed, "float64"), BACKEND, in_shape, config.layers[-1].units)
    for node, twin in zip(generated.nodes, stored.nodes, strict=True):
        for key in node.params:  # same forward weights: the streams differ in what they draw after W
            twin.params[key][...] = node.params[key]
        if "B" in twin.state.arrays:
            twin.state.arrays["B"][...] = generated.rule.materialize(node.name, np.float64)
    return generated, stored, in_shape


def test_rows_do_not_depend_on_the_tile_they_are_drawn_in():
    whole = feedback_rows(key=1234, rows=range(10), units=37, limit=0.5, dtype=np.float32)
    assert whole.shape == (10, 37) and whole.dtype == np.float32
    assert float(np.abs(whole).max()) <= 0.5 and float(whole.std()) > 0.1
    for size in (1, 3, 4, 10):
        tiles = [feedback_rows(1234, range(s, min(s + size, 10)), 37, 0.5, np.float32) for s in range(0, 10, size)]
        np.testing.assert_array_equal(np.concatenate(tiles), whole)
    assert not np.array_equal(feedback_rows(1235, range(10), 37, 0.5, np.float32), whole)  # keyed per layer


@pytest.mark.parametrize("kind", ["dense", "locally_connected", "conv"])
@pytest.mark.parametrize("tile_rows", [1, 2, 64])
def test_update_equals_stored_dfa_with_the_materialised_b(kind, tile_rows):
    generated, stored, in_shape = networks(kind, tile_rows)
    x, onehot = example_batch(BACKEND, in_shape, 5, seed=1)
    for step in range(3):  # B is regenerated each step: still the same matrix
        generated.step(step, x, onehot)
        stored.step(step, x, onehot)
        for key, value in stored.parameters().items():
            if "feedback" in key:
                continue
            np.testing.assert_allclose(generated.parameters()[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_b_is_fixed_by_the_seed_and_stored_nowhere():
    a, _, _ = networks("dense", 4, seed=3)
    b, _, _ = networks("dense", 7, seed=3)
    c, _, _ = networks("dense", 4, seed=4)
    hidden = [n.name for n in a.nodes[:-1] if n.layer.params]
    for name in hidden:
        np.testing.assert_array_equal(a.rule.materialize(name), b.rule.materialize(name))  # tile size: memory only
        assert not np.array_equal(a.rule.materialize(name), c.rule.materialize(name))
    assert all(not node.state.arrays for node in a.nodes)  # no B in the state, checkpoints or params.npz
    rows = {r.name: r for r in plan(a, 8)}
    for node in a.nodes[:-1]:
        if node.layer.params:
            assert rows[node.name].feedback == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plan_scratch_is_the_peak_of_the_tile_buffers_a_step_allocates(dtype, monkeypatch):
    """Every buffer the rule hands feedback_rows is followed from its allocation until it is
    freed; the most bytes live at once must be plan's scratch (hidden layers of different
    widths, so one buffer per layer held at once, or a buffer of the wrong size, fails)."""
    backend = get_backend("numpy", dtype)
    layers = [{"type": "dense", "units": 9}, {"type": "dense", "units": 23}, {"type": "dense", "units": 5},
              {"type": "softmax", "units": 6}]
    config = example_config("dfa_generated", dtype=dtype, options={"tile_rows": 4}, layers=layers)
    net = build_network(config, backend, (7,), 6)
    live: dict[int, int] = {}  # id -> bytes of the buffers not yet freed
    peak = [0]

    def tracked(key, rows, units, limit, dtype, out=None):
        if out is not None and id(out) not in live:
            live[id(out)] = out.nbytes
            weakref.finalize(out, live.pop, id(out))
            peak[0] = max(peak[0], sum(live.values()))
        return feedback_rows(key, rows, units, limit, dtype, out)

    monkeypatch.setattr(dfa_generated, "feedback_rows", tracked)
    x, onehot = example_batch(backend, (7,), 5, seed=1, classes=6)
    for step in range(2):
        net.step(step, x, onehot)
    scratch = [r.scratch for r in plan(net, 5)]
    assert peak[0] == sum(scratch) == 4 * 23 * np.dtype(dtype).itemsize  # the widest layer's 4-row tile
    assert sorted(scratch) == [0, 0, 0, sum(scratch)]
    assert not live  # every buffer is freed by the end of the step
