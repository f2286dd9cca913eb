"""The engine: declared channels only, deterministic order, one tap, read-only payloads."""

from __future__ import annotations

import numpy as np
import pytest

from localnet.backend import get_backend
from localnet.engine import Engine
from localnet.messages import Channel


class Echo:
    """A node that records what it receives and emits a fixed list of (kind, payload)."""

    def __init__(self, name, emits=()):
        self.name = name
        self.emits = list(emits)
        self.received = []

    def handle(self, message):
        self.received.append(message)
        return self.emits


def test_delivery_follows_channels_and_taps_see_everything():
    a, b, c = Echo("a", [("forward", np.ones(2))]), Echo("b"), Echo("c")
    engine = Engine([a, b, c], [Channel("src", "a", "forward"), Channel("a", "b", "forward"), Channel("a", "c", "forward")])
    seen = []
    engine.add_tap(seen.append)
    assert engine.run_phase(0, "forward", 0, [("src", "forward", np.zeros(2))]) == 3
    assert [(m.src, m.dst) for m in seen] == [("src", "a"), ("a", "b"), ("a", "c")]
    assert all(m.step == 0 and m.phase == "forward" for m in seen)
    assert len(b.received) == len(c.received) == 1


def test_priority_orders_fan_out_deterministically():
    sink = [Echo(n) for n in ("x", "y", "z")]
    channels = [Channel("s", "x", "feedback", priority=3), Channel("s", "y", "feedback", priority=1),
                Channel("s", "z", "feedback", priority=2)]
    engine = Engine(sink, channels)
    order = []
    engine.add_tap(lambda m: order.append(m.dst))
    engine.run_phase(5, "feedback", 1, [("s", "feedback", np.zeros(1))])
    assert order == ["y", "z", "x"]


def test_undeclared_send_fails_loudly():
    a = Echo("a", [("target", np.ones(1))])
    engine = Engine([a], [Channel("src", "a", "forward")])
    with pytest.raises(RuntimeError, match="no such channel"):
        engine.run_phase(0, "forward", 0, [("src", "forward", np.zeros(1))])


def test_channel_to_unknown_node_is_rejected():
    with pytest.raises(ValueError, match="unknown node"):
        Engine([Echo("a")], [Channel("a", "nowhere", "forward")])


def test_numpy_payloads_are_read_only_for_receivers():
    class Mutator(Echo):
        def handle(self, message):
            message.payload[0] = 1.0
            return ()

    backend = get_backend("numpy")
    sent = np.zeros(3)
    engine = Engine([Mutator("m")], [Channel("src", "m", "forward")], freeze=backend.freeze)
    with pytest.raises(ValueError, match="read-only"):
        engine.run_phase(0, "forward", 0, [("src", "forward", sent)])
    assert sent.flags.writeable  # the sender's own array stays writeable


def test_removing_a_tap():
    engine = Engine([Echo("a")], [Channel("src", "a", "forward")])
    seen = []
    remove = engine.add_tap(seen.append)
    engine.run_phase(0, "p", 0, [("src", "forward", np.zeros(1))])
    remove()
    engine.run_phase(1, "p", 0, [("src", "forward", np.zeros(1))])
    assert len(seen) == 1
