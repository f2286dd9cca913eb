"""Build a wired network from a config: layers, nodes, channels, rule; checked before use.

The builder is the only place that sees every layer at once. It gives each rule shapes and
positions (`LayerInfo`), never references, and checks the declared wiring: every channel
carries a kind its sender emits and its receiver consumes, and every consumed kind arrives.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from .backend import Backend
from .config import RunConfig
from .engine import Engine
from .errors import ConfigError, WiringError
from .messages import Channel
from .node import LayerNode, Readout
from .optim import Adam
from .registry import LAYERS, RULES
from .rules.base import LayerInfo, Rule, StateInit
from .rules.contract import TRANSPORTS, RuleState
from .schedule import Phase, StepPlan
from .seeding import rng_for

if TYPE_CHECKING:
    from .layers.softmax import SoftmaxOutput

INPUT = "input"


class Network:
    """The built simulator: `nodes` (bottom to top), the `engine` that connects them, the rule.

    Use `step(...)` to train on a minibatch and `predict(...)` to evaluate; both only
    inject messages at the "input" source and read the "readout" sink.
    """

    def __init__(self, nodes: list[LayerNode], engine: Engine, rule: Rule, readout: Readout, backend: Backend) -> None:
        self.nodes = nodes
        self.engine = engine
        self.rule = rule
        self.readout = readout
        self.backend = backend

    @property
    def output(self) -> LayerNode:
        return self.nodes[-1]

    @property
    def output_layer(self) -> SoftmaxOutput:
        """The output layer; its `loss(probs, onehot)` is the task loss. The config checks
        make the last layer the softmax output, the only registered output layer type."""
        return cast("SoftmaxOutput", self.output.layer)

    def node(self, name: str) -> LayerNode:
        return next(n for n in self.nodes if n.name == name)

    def run_phase(self, step: int, phase: Phase, order: int, inputs: Any, onehot: Any) -> None:
        """Run one phase of a step: the input node injects the batch inputs or the labels."""
        injection = (INPUT, "forward", inputs) if phase.source == "inputs" else (INPUT, "target", onehot)
        self.engine.run_phase(step, phase.name, order, [injection])

    def step(self, step: int, inputs: Any, onehot: Any, plan: StepPlan | None = None) -> Any:
        """One training step on a minibatch: every phase of `plan` (default: the rule's
        first pass), in order. inputs: (B, *input_shape) floats on the backend;
        onehot: (B, classes). Returns the output probabilities of the forward sweep.
        """
        probs = None
        for order, phase in enumerate(plan or self.rule.passes()[0]):
            self.run_phase(step, phase, order, inputs, onehot)
            if phase.source == "inputs":
                probs = self.readout.last
        return probs

    def predict(self, inputs: Any, step: int = -1) -> Any:
        """Output probabilities (B, classes) for a batch; an "evaluate" phase, no learning."""
        self.engine.run_phase(step, "evaluate", 0, [(INPUT, "forward", inputs)])
        return self.readout.last

    def parameters(self) -> dict[str, Any]:
        """Every parameter by "layer/name" (forward) and "layer/feedback.name" (the rule state's
        arrays: fixed feedback, learned inverses)."""
        out = {}
        for node in self.nodes:
            out.update({f"{node.name}/{k}": v for k, v in node.params.items()})
            out.update({f"{node.name}/feedback.{k}": v for k, v in node.state.arrays.items()})
        return out

    def parameter_count(self) -> int:
        return sum(node.layer.parameter_count() for node in self.nodes)


def build_network(config: RunConfig, backend: Backend, input_shape: Sequence[int], num_classes: int) -> Network:
    """Create layers (seeded per layer name), the rule, the channels and the engine."""
    rule_name = RULES.name_of(config.rule, "Options")
    rule: Rule = RULES.get(rule_name)(config.rule)
    check_declarations(rule, rule_name)
    output_spec = config.layers[-1]
    if output_spec.units != num_classes:
        raise WiringError(f"the output layer has {output_spec.units} units but the dataset has "
                          f"{num_classes} classes: set units = {num_classes} in the last [[layers]]")

    layers, infos, shape = [], [], tuple(input_shape)
    count = len(config.layers)
    for index, spec in enumerate(config.layers):
        name, kind = f"layer{index + 1}", LAYERS.name_of(spec, "Spec")
        layer = LAYERS.get(kind)(spec, shape, backend, rng_for(config.seed, "init", name))
        layers.append(layer)
        weight_shape = tuple(layer.params["W"].shape) if "W" in layer.params else ()
        info = LayerInfo(name, index, count, layer.in_shape, layer.out_shape, weight_shape,
                         output_spec.units, layer.fans, kind, type(layer).exact_inverse)
        if rule.needs_exact_inverse(info) and not info.exact_inverse:
            raise ConfigError(f"rule {rule_name!r} needs an exact inverse at layers[{index}] (type {kind!r}), "
                              "which that layer type does not declare: use another layer type there or another rule")
        infos.append(info)
        shape = layer.out_shape

    channels = [Channel(INPUT, infos[0].name, "forward")]
    channels += [Channel(a.name, b.name, "forward") for a, b in itertools.pairwise(infos)]
    channels += [Channel(infos[-1].name, Readout.name, "forward"), Channel(INPUT, infos[-1].name, "target")]
    channels += rule.channels(infos)
    check_wiring(rule, infos, channels)

    nodes = []
    for info, layer in zip(infos, layers):
        sends = frozenset(c.kind for c in channels if c.src == info.name)
        init = StateInit(rng_for(config.seed, "feedback", info.name), backend,
                         lambda name=info.name: backend.random(config.seed, "noise", name))
        state = rule.init_state(info, init)
        attach_optimizers(rule, rule_name, info, state, config, backend)
        nodes.append(LayerNode(info.name, info.index, info.role, layer, rule, config.optim_for(info.index),
                               state, sends))
    readout = Readout()
    engine = Engine([*nodes, readout], channels, freeze=backend.freeze)
    return Network(nodes, engine, rule, readout, backend)


def check_declarations(rule: Rule, rule_name: str) -> None:
    """A rule's class-level declarations must be well formed (WiringError naming the fix)."""
    if rule.transports_weights not in TRANSPORTS:
        raise WiringError(f"rule {rule_name!r} declares transports_weights = {rule.transports_weights!r}; "
                          f"declare one of {', '.join(TRANSPORTS)}")
    if not rule.modifies or rule.modifies[0].name != "forward":
        raise WiringError(f"rule {rule_name!r}: modifies must start with rules.contract.FORWARD (the layer's W, b)")


def attach_optimizers(rule: Rule, rule_name: str, info: LayerInfo, state: RuleState, config: RunConfig,
                      backend: Backend) -> None:
    """One Adam per learned group of `state`, with the settings its declaration names."""
    declared = {group.name: group for group in rule.modifies[1:]}
    for group, keys in state.learned.items():
        if group not in declared:
            raise WiringError(f"rule {rule_name!r} learns a {group!r} group at {info.name} but does not declare it "
                              f"in {type(rule).__name__}.modifies")
        params = {key: state.arrays[key] for key in keys}
        state.optimizers[group] = Adam(params, getattr(config, declared[group].optimizer), backend.xp)


def check_wiring(rule: Rule, infos: Sequence[LayerInfo], channels: Sequence[Channel]) -> None:
    """Fail with a WiringError naming the fix if declarations and channels disagree."""
    roles = {info.name: info.role for info in infos}
    rule_name = type(rule).__name__
    for c in channels:
        if c.src in roles and c.kind not in rule.emits[roles[c.src]]:
            raise WiringError(f"rule {rule_name}: channel {c.src} -> {c.dst} carries {c.kind!r}, which a "
                              f"{roles[c.src]} layer does not emit; declare it in {rule_name}.emits or drop the channel")
        if c.dst in roles and c.kind not in rule.consumes[roles[c.dst]]:
            raise WiringError(f"rule {rule_name}: channel {c.src} -> {c.dst} carries {c.kind!r}, which a "
                              f"{roles[c.dst]} layer does not consume; declare it in {rule_name}.consumes")
    arriving = {(c.dst, c.kind) for c in channels}
    for info in infos:
        for kind in rule.consumes[info.role]:
            if (info.name, kind) not in arriving:
                raise WiringError(f"rule {rule_name}: {info.name} ({info.role}) consumes {kind!r} but no channel "
                                  f"delivers it; add one in {rule_name}.channels()")
