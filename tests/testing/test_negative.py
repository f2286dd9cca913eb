"""The suites can fail: deliberately broken rules and layers (test fixtures, registered for
one test only) are caught, and so is every shipped rule that transports anything, were it to
declare less than it does."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from localnet.config import parse_config
from localnet.errors import ConfigError
from localnet.layers.base import Layer
from localnet.network import build_network
from localnet.registry import LAYERS, RULES
from localnet.rules.base import LayerInfo, RandomFeedbackOptions
from localnet.rules.contract import Reply
from localnet.rules.fa import FA
from localnet.rules.sign import Sign, SignOptions
from localnet.testing import (
    check_pure,
    check_updates,
    conformance_problems,
    layer_types,
    locality_violations,
    registered,
    rule_names,
)

TRANSPORTING = [r for r in rule_names() if RULES.get(r).transports_weights != "never"]


@pytest.mark.parametrize("rule", TRANSPORTING)
def test_a_rule_that_transports_is_caught_if_it_declares_never(rule, backend64):
    """bp (everywhere), dtp (penultimate), sign (signs): declared 'never', each is caught."""
    assert TRANSPORTING, "no shipped rule transports weights: this test would check nothing"
    found = locality_violations(rule, "dense", backend64, declared="never")
    assert found and all("beyond the declared transport 'never'" in line for line in found)


def test_bp_is_caught_if_it_declares_signs(backend64):
    assert locality_violations("bp", "dense", backend64, declared="signs")


@dataclass(frozen=True)
class PeekOptions(RandomFeedbackOptions):
    """A fixture's own options class (the registry maps options classes back to rule names)."""


class Peek(FA):
    """FA, but it keeps references to the parameters of every layer it sees in the forward
    sweep and scales the messages it sends by another layer's first forward weight."""

    Options = PeekOptions

    def __init__(self, options):
        super().__init__(options)
        self.seen = {}

    def after_forward(self, view, message):
        self.seen[view.name] = view.params  # a reference to this layer's W, b, kept in the rule
        return super().after_forward(view, message)

    def handle(self, view, message):
        reply = super().handle(view, message)
        other = next(name for name in sorted(self.seen) if name != view.name and "W" in self.seen[name])
        factor = 1 + abs(self.seen[other]["W"].reshape(-1)[0])  # another layer's forward W
        return Reply(tuple((kind, payload * factor) for kind, payload in reply.messages), reply.grads)


@pytest.mark.parametrize("kind", layer_types())
def test_a_rule_reading_another_layers_forward_weights_is_caught(kind, backend64):
    with registered(RULES, "peek_fixture", Peek):
        found = locality_violations("peek_fixture", kind, backend64)
    assert found, f"the locality suite missed a rule reading another layer's W on {kind}"


def test_the_one_call_for_a_users_own_rule_reports_each_failure(backend64):
    """`conformance_problems` (what a user calls for a rule in their own package) is empty for a
    conforming rule and names the offences of a broken one."""
    assert conformance_problems("sign", backend64) == []
    with registered(RULES, "peek_fixture", Peek):
        problems = conformance_problems("peek_fixture", backend64)
    assert len(problems) >= len(layer_types()) and all("peek_fixture on" in line for line in problems)


@dataclass(frozen=True)
class QuietSignOptions(SignOptions):
    """A fixture's own options class."""


class QuietSign(Sign):
    """Sign symmetry that declares it transports nothing."""

    Options = QuietSignOptions
    transports_weights = "never"


@pytest.mark.parametrize("kind", ["dense", "locally_connected", "conv"])
def test_a_rule_declaring_never_but_sending_signs_is_caught(kind, backend64):
    with registered(RULES, "quiet_sign_fixture", QuietSign):
        found = locality_violations("quiet_sign_fixture", kind, backend64)
    assert found and all("values" in line for line in found)
    assert locality_violations("sign", kind, backend64) == []  # declared as "signs", it passes


@dataclass(frozen=True)
class LazyOptions(RandomFeedbackOptions):
    """A fixture's own options class."""


class Lazy(FA):
    """FA that forgets to update hidden layers."""

    Options = LazyOptions

    def handle(self, view, message):
        reply = super().handle(view, message)
        return reply if view.role == "output" else Reply(reply.messages, {})


def test_a_rule_that_leaves_a_layer_unchanged_is_caught(backend64):
    with registered(RULES, "lazy_fixture", Lazy), pytest.raises(AssertionError, match="was not updated"):
        check_updates("lazy_fixture", "dense", backend64)


@dataclass(frozen=True)
class EagerOptions(RandomFeedbackOptions):
    """A fixture's own options class."""


class Eager(FA):
    """FA that applies its own update in the handler instead of returning the gradients."""

    Options = EagerOptions

    def handle(self, view, message):
        reply = super().handle(view, message)
        for key, grad in reply.grads["forward"].items():
            view.params[key][...] -= 1e-3 * grad  # writes the layer's W, b itself
        return Reply(reply.messages, {})


def test_a_handler_that_writes_parameters_is_caught(backend64):
    with registered(RULES, "eager_fixture", Eager), pytest.raises(AssertionError, match="handle at layer.* changed"):
        check_pure("eager_fixture", "dense", backend64)


@dataclass(frozen=True)
class HalveSpec:
    """A parameter-free layer h = x / 2 that declares no exact inverse (like a pooling layer)."""

    def estimate(self, in_shape):
        return tuple(in_shape), 0, 0


class Halve(Layer):
    Spec = HalveSpec

    def __init__(self, spec, in_shape, backend, rng):
        super().__init__(spec, in_shape, backend, rng)
        self.out_shape = tuple(in_shape)

    @classmethod
    def example(cls):
        return HalveSpec(), (4,)

    def forward(self, x, keep=False):
        return x * 0.5, x * 0.5

    def derivative(self, a, h):
        return np.ones_like(a)

    def affine(self, x, weight=None, bias=None):
        return x * 0.5

    def transpose(self, delta, weight=None):
        return delta * 0.5

    def weight_grads(self, x, delta):
        return {}


PARAMETER_FREE = LayerInfo("layer2", 1, 4, (4,), (4,), (), 3, kind="halve_fixture")
NEED_INVERSE = [r for r in rule_names() if RULES.get(r)(None).needs_exact_inverse(PARAMETER_FREE)]


def test_some_shipped_rule_needs_exact_inverses():
    assert NEED_INVERSE  # the TP family: else the test below checks nothing


@pytest.mark.parametrize("rule", NEED_INVERSE)
def test_a_rule_needing_an_exact_inverse_fails_at_build_on_a_layer_without_one(rule, backend64):
    raw = {"name": "t", "dtype": "float64", "rule": {"name": rule}, "layers": [
        {"type": "dense", "units": 4}, {"type": "halve_fixture"}, {"type": "dense", "units": 4},
        {"type": "softmax", "units": 3}]}
    with registered(LAYERS, "halve_fixture", Halve):
        config = parse_config(raw)
        with pytest.raises(ConfigError, match=r"needs an exact inverse at layers\[1\] \(type 'halve_fixture'\)") as err:
            build_network(config, backend64, (5,), 3)
        assert "\n" not in str(err.value)
        build_network(dataclasses.replace(config, rule=RULES.get("bp").Options()), backend64, (5,), 3)  # bp does not
