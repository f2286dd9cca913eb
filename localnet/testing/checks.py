"""Conformance checks every registered rule and layer type must pass (see localnet/testing/).

Each check raises AssertionError naming the rule, the layer type and what is wrong.
Tolerances: the exact-equality checks (FA with B = W against BP, a config round trip, byte
counts) hold bit for bit in any dtype; the others compare float64 sums, relative 1e-10.
"""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np

from ..backend import Backend
from ..config import config_to_dict, dump_toml, parse_config
from ..network import build_network
from ..plan import estimate_layers, plan, training_bytes
from ..record.config import SERIES_PROBES
from ..registry import LAYERS, RULES
from ..rules.contract import TRANSPORTS
from .nets import example_batch, example_config, example_layers, example_network, train_step

REL = 1e-10


def _close(a: float, b: float, what: str) -> None:
    assert abs(a - b) <= REL * max(abs(a), abs(b), 1e-300), f"{what}: {a!r} != {b!r}"


def check_declarations(rule: str) -> None:
    """The class declares a known transport, FORWARD first in `modifies`, known probes, and
    consumes/emits for both roles."""
    cls = RULES.get(rule)
    assert cls.transports_weights in TRANSPORTS, f"{rule}: transports_weights {cls.transports_weights!r}"
    assert cls.modifies and cls.modifies[0].name == "forward", f"{rule}: modifies must start with FORWARD"
    assert len({g.name for g in cls.modifies}) == len(cls.modifies), f"{rule}: a parameter group twice"
    assert set(cls.probes) <= set(SERIES_PROBES), f"{rule}: probes {cls.probes} beyond {SERIES_PROBES}"
    assert set(cls.consumes) == set(cls.emits) == {"hidden", "output"}, f"{rule}: consumes/emits per role"


def check_updates(rule: str, kind: str, backend: Backend, seed: int = 0, batch: int = 3, tries: int = 3) -> None:
    """One step of every pass: every layer with weights gets a non-zero forward update, every
    learned group of the rule's state a non-zero one, and only declared groups are touched.

    An exact zero can be a true cancellation rather than a broken wiring: under sign feedback
    a unit whose outgoing weights all share a sign receives the sum of the output errors,
    which is 0 for softmax cross-entropy, and the tiny example nets make that likely enough
    to meet. So a zero must persist over `tries` networks (seeds seed, seed+1, ...): a rule
    whose updates never reach a layer fails on every one."""
    for attempt in range(tries):
        zero = _zero_updates(rule, kind, backend, seed + attempt, batch)
        if zero is None:
            return
    raise AssertionError(f"{rule} on {kind}: {zero} (on {tries} networks, seeds {seed} to {seed + tries - 1})")


def _zero_updates(rule: str, kind: str, backend: Backend, seed: int, batch: int) -> str | None:
    """What got no or a zero update in one step of `seed`'s network, or None."""
    net, in_shape = example_network(rule, kind, backend, seed)
    x, onehot = example_batch(backend, in_shape, batch, seed)
    train_step(net, x, onehot)
    groups = {g.name for g in net.rule.modifies}
    for node in net.nodes:
        assert set(node.state.grads) <= groups, f"{rule}: {node.name} updated an undeclared group"
    for node in net.nodes:
        if node.params:
            assert node.grads, f"{rule} on {kind}: {node.name} was not updated"
            if not any(float(backend.to_host(abs(g).max())) > 0 for g in node.grads.values()):
                return f"{node.name} got a zero update"
        for group in node.state.learned:
            grads = node.state.grads.get(group)
            if not (grads and any(float(backend.to_host(abs(g).max())) > 0 for g in grads.values())):
                return f"{node.name}'s {group} group got no or a zero update"
    return None


def check_pure(rule: str, kind: str, backend: Backend, seed: int = 0, batch: int = 3) -> None:
    """A step of every pass in which the rule's handlers (`handle`, `after_forward`) change no
    parameter and no state array of any layer: they return gradients, the node applies them."""
    net, in_shape = example_network(rule, kind, backend, seed)
    x, onehot = example_batch(backend, in_shape, batch, seed)

    def arrays() -> dict[str, Any]:
        return {key: backend.to_host(value).copy() for key, value in net.parameters().items()}

    def watched(method: Any, what: str) -> Any:
        def call(view: Any, message: Any) -> Any:
            before = arrays()
            reply = method(view, message)
            for key, value in arrays().items():
                assert np.array_equal(value, before[key]), f"{rule} on {kind}: {what} at {view.name} changed {key}"
            return reply
        return call

    net.rule.handle = watched(net.rule.handle, "handle")  # type: ignore[method-assign]
    net.rule.after_forward = watched(net.rule.after_forward, "after_forward")  # type: ignore[method-assign]
    train_step(net, x, onehot)


def check_adjoint(kind: str, backend: Backend, seed: int = 0, batch: int = 3) -> None:
    """<affine(x, M, 0), d> == <x, transpose(d, M)> and <affine(x, G, 0), d> == <G, dL/dW>,
    <affine(0, 0, c), d> == <c, dL/db>; an exact inverse undoes forward bit for bit."""
    spec, in_shape = LAYERS.get(kind).example()
    rng = np.random.default_rng(seed)
    layer = LAYERS.get(kind)(spec, in_shape, backend, rng)
    xp, host, dev = backend.xp, backend.to_host, backend.to_device

    def rand(shape: tuple[int, ...]) -> Any:
        return dev(rng.normal(size=shape).astype(backend.dtype))

    def dot(a: Any, b: Any) -> float:
        return float(np.vdot(host(a).astype(np.float64), host(b).astype(np.float64)))

    x, d = rand((batch, *in_shape)), rand((batch, *layer.out_shape))
    W, b = layer.params.get("W"), layer.params.get("b")
    zero_b = None if b is None else xp.zeros_like(b)
    _close(dot(layer.affine(x, W, zero_b), d), dot(x, layer.transpose(d, W)), f"{kind}: transpose is not affine's adjoint")
    if W is not None and b is not None:
        G = rand(W.shape)
        grads = layer.weight_grads(x, d)
        _close(dot(layer.affine(x, G, zero_b), d), dot(G, grads["W"]), f"{kind}: weight_grads W")
        c = rand(b.shape)
        _close(dot(layer.affine(xp.zeros_like(x), xp.zeros_like(W), c), d), dot(c, grads["b"]), f"{kind}: weight_grads b")
    if type(layer).exact_inverse:
        assert np.array_equal(host(layer.inverse(layer.forward(x)[1])), host(x)), f"{kind}: inverse(forward(x)) != x"


def check_fa_equals_bp(kind: str, backend: Backend, seed: int = 0, batch: int = 3) -> None:
    """FA whose every B is set to its W makes BP's step, bit for bit, on the example network."""
    bp, in_shape = example_network("bp", kind, backend, seed)
    fa = example_network("fa", kind, backend, seed)[0]
    for node in fa.nodes:
        if "B" in node.state.arrays:
            node.state.arrays["B"][...] = node.params["W"]
    x, onehot = example_batch(backend, in_shape, batch, seed)
    bp.step(0, x, onehot)
    fa.step(0, x, onehot)
    for key, value in bp.parameters().items():
        assert np.array_equal(backend.to_host(value), backend.to_host(fa.parameters()[key])), f"{kind}: FA(B=W) {key}"


def check_dfa_equals_bp(kind: str, backend: Backend, seed: int = 0, batch: int = 3) -> None:
    """DFA on one hidden layer of type `kind` with B = W_out^T makes BP's step (rel. 1e-10:
    the two products differ only in operand layout)."""
    if LAYERS.get(kind).is_output:
        return
    in_shape = LAYERS.get(kind).example()[1]
    tables = [example_layers(kind)[0][0], {"type": "softmax", "units": 3}]
    nets = {}
    for rule in ("bp", "dfa"):
        config = example_config(rule, kind, seed, np.dtype(backend.dtype).name, layers=tables)
        nets[rule] = build_network(config, backend, in_shape, 3)
    hidden, out = nets["dfa"].nodes
    if "B" in hidden.state.arrays:
        hidden.state.arrays["B"][...] = backend.xp.ascontiguousarray(out.params["W"].T)
    x, onehot = example_batch(backend, in_shape, batch, seed)
    for net in nets.values():
        net.step(0, x, onehot)
    for key, value in nets["bp"].parameters().items():
        want, got = backend.to_host(value), backend.to_host(nets["dfa"].parameters()[key])
        scale = max(float(np.abs(want).max()), 1e-300)
        assert float(np.abs(got - want).max()) <= REL * scale, f"{kind}: DFA(B=W^T) {key}"


def allocated_bytes(net: Any) -> int:
    """Bytes of every array the build allocated that `plan` counts: forward parameters, rule
    state arrays and each optimizer's moments and scratch, found by walking the objects."""
    arrays = []
    for node in net.nodes:
        arrays += list(node.params.values()) + list(node.state.arrays.values())
        for _, opt in node.optimizers():
            arrays += [*opt.m.values(), *opt.v.values(), *opt._scratch.values()]
    return sum(int(a.nbytes) for a in arrays)


def check_plan(rule: str, kind: str, backend: Backend, batch: int = 4) -> None:
    """plan's rows count exactly what the build allocated, and the config-only estimate
    (shapes, parameters, activations) plus the rule state equals plan's total."""
    net, in_shape = example_network(rule, kind, backend)
    rows = plan(net, batch)
    counted = sum(r.weights + r.feedback + r.optimizer for r in rows)
    held = allocated_bytes(net)
    assert counted == held, f"{rule} on {kind}: plan counts {counted} bytes, the build holds {held}"
    config = example_config(rule, kind, dtype=np.dtype(backend.dtype).name)
    estimate = estimate_layers(config, in_shape)
    assert estimate is not None, f"{kind}: its Spec has no estimate()"
    assert [e.parameters for e in estimate] == [r.parameters for r in rows], f"{rule} on {kind}: estimated parameters"
    size = np.dtype(backend.dtype).itemsize
    state = sum(int(a.size) for node in net.nodes for a in node.state.arrays.values())
    learned_state = sum(int(p.size) for node in net.nodes for _, opt in node.optimizers() for p in opt.params.values())
    learned_state -= sum(r.parameters for r in rows)
    total = sum(r.weights + r.feedback + r.optimizer + r.activations for r in rows)
    assert training_bytes(config, estimate, batch) + (state + 3 * learned_state) * size == total, \
        f"{rule} on {kind}: estimate + rule state != plan"


def check_round_trip(rule: str, kind: str) -> None:
    """config -> TOML -> config gives the same config."""
    config = example_config(rule, kind)
    again = parse_config(tomllib.loads(dump_toml(config_to_dict(config))))
    assert again == config, f"{rule} on {kind}: the config changes in a TOML round trip"
