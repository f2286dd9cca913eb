"""Locality per hop, against each rule's declared transport (rules/contract.py TRANSPORTS).

Two twin networks run the forward sweep of one step. The twin's forward weights are then
overwritten in place: with fresh values ("any"), or with fresh magnitudes that keep every
sign of W ("magnitudes"). Every learning message delivered in the twin is also handed to the
clean network's node, and the two nodes' emissions are compared: both got the same message
and hold the same cache and rule state, so a difference can only come from the forward
weights the sender read. What a rule may let through:

- "never": no hop differs, whatever the overwrite;
- "signs": no hop differs when only magnitudes change (sign(W) may reach messages);
- "penultimate": only the output layer's hop may differ;
- "everywhere": any hop may differ.

A rule that reads another layer's weights (through a reference it kept, say) is caught the
same way: that layer's weights changed too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Backend
from ..network import Network
from ..registry import RULES
from .nets import example_batch, example_network

LEARNING_KINDS = ("feedback", "target")


def overwrite_forward_weights(net: Network, seed: int, keep_signs: bool) -> None:
    """Replace every layer's W and b in place: fresh normal values, or (keep_signs) fresh
    magnitudes in [0.5, 2) with W's signs kept (b is fresh either way)."""
    rng = np.random.default_rng(seed + 1)
    backend = net.backend
    for node in net.nodes:
        for key, array in node.params.items():
            fresh = rng.normal(size=array.shape)
            if keep_signs and key == "W":
                fresh = np.sign(backend.to_host(array)) * rng.uniform(0.5, 2.0, size=array.shape)
            array[...] = backend.to_device(fresh.astype(backend.dtype))


def differing_hops(rule: str, kind: str, backend: Backend, seed: int = 0, batch: int = 3,
                   keep_signs: bool = False) -> tuple[set[str], list[str], int]:
    """(names of the nodes whose emitted learning messages changed, every node name, hops
    compared) after the forward weights of the twin were overwritten."""
    clean = example_network(rule, kind, backend, seed)[0]
    dirty, in_shape = example_network(rule, kind, backend, seed)
    x, onehot = example_batch(backend, in_shape, batch, seed)
    forward, *learning = dirty.rule.passes()[-1]
    for net in (clean, dirty):
        net.run_phase(0, forward, 0, x, onehot)
    overwrite_forward_weights(dirty, seed, keep_signs)
    differing: set[str] = set()
    hops = 0
    for twin, node in zip(clean.nodes, dirty.nodes):
        def handle(message: Any, twin: Any = twin, own: Any = node.handle, name: str = node.name) -> Any:
            nonlocal hops
            ours = own(message)
            if message.kind not in LEARNING_KINDS:
                return ours
            theirs = twin.handle(message)
            assert [k for k, _ in ours] == [k for k, _ in theirs], f"{name} sent other kinds in its twin"
            hops += 1
            if any(not np.array_equal(backend.to_host(a), backend.to_host(b)) for (_, a), (_, b) in zip(ours, theirs)):
                differing.add(name)
            return ours
        node.handle = handle  # type: ignore[method-assign]
    for order, phase in enumerate(learning, start=1):
        dirty.run_phase(0, phase, order, x, onehot)
    return differing, [n.name for n in dirty.nodes], hops


def locality_violations(rule: str, kind: str, backend: Backend, seed: int = 0, batch: int = 3,
                        declared: str | None = None) -> list[str]:
    """What `rule` on the example network of layer type `kind` lets through beyond its declared
    transport (or beyond `declared`, to test the test): one line per offence; [] = local."""
    declared = declared or RULES.get(rule).transports_weights
    problems = []
    checks = {"never": [False], "signs": [True], "penultimate": [False], "everywhere": []}[declared]
    for keep_signs in checks:
        differing, names, hops = differing_hops(rule, kind, backend, seed, batch, keep_signs)
        if hops < 1:
            problems.append(f"{rule} on {kind}: no learning message was delivered, nothing was checked")
        allowed = {names[-1]} if declared == "penultimate" else set()
        for name in sorted(differing - allowed):
            change = "magnitudes" if keep_signs else "values"
            problems.append(f"{rule} on {kind}: {name}'s messages change with the forward weights' {change}, "
                            f"beyond the declared transport {declared!r}")
    return problems
