"""Schedules: plans are data; the parallel step's two orders and the alternating schedule
differ only in phase order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import random_batch, tiny_config

from localnet.backend import get_backend
from localnet.cli import main
from localnet.network import build_network
from localnet.registry import RULES
from localnet.schedule import (
    ALTERNATING,
    FEEDBACK,
    FORWARD,
    INVERSE,
    PARALLEL,
    PARALLEL_INVERSE_FIRST,
    TARGET,
    TARGET_INVERSE,
    Phase,
)
from localnet.testing import rule_names


def test_plans():
    assert PARALLEL == ((FORWARD, TARGET_INVERSE),)
    assert PARALLEL_INVERSE_FIRST == ((INVERSE, TARGET),)
    assert ALTERNATING == ((INVERSE,), (FORWARD, TARGET))
    with pytest.raises(ValueError):
        Phase("x", "nowhere")


def _options(rule):
    return {f.name for f in dataclasses.fields(RULES.get(rule).Options)}


SCHEDULED = [rule for rule in rule_names() if "schedule" in _options(rule)]


def _tp_net(rule, **options):
    extra = {"aux_units": 3} if "aux_units" in _options(rule) else {}
    config = tiny_config(rule, [6, 5], 3, rule_options={"sigma": 0.3, **extra, **options}, dtype="float64")
    return build_network(config, get_backend("numpy", "float64"), (4,), 3)


def _targets(net):
    """Collects the target messages each layer receives from the layer above, by receiver."""
    seen = {}
    net.engine.add_tap(lambda m: seen.__setitem__(m.dst, m.payload) if m.kind == "target" and m.src != "input" else None)
    return seen


@pytest.mark.parametrize("rule", SCHEDULED)
def test_parallel_step_follows_algorithm_1(rule):
    """The default parallel step (Algorithm 1): every target is the one the inverses give as
    they were at the forward pass (a step that trains no inverse sends the same targets, bit
    for bit), the forward weights learn from those targets, and the inverses take the same
    step as an inverse-training forward sweep of the same batch would (same noise draws)."""
    assert len(SCHEDULED) >= 4  # the TP family
    x, _, onehot = random_batch(0, 5, 4, 3)
    algorithm_1, frozen, inverse_only = _tp_net(rule, schedule="parallel"), _tp_net(rule), _tp_net(rule)
    assert algorithm_1.rule.passes() == PARALLEL
    sent, expected = _targets(algorithm_1), _targets(frozen)
    algorithm_1.step(0, x, onehot, PARALLEL[0])
    frozen.step(0, x, onehot, (FORWARD, TARGET))  # targets with the untrained inverses; no inverse step
    inverse_only.step(0, x, onehot, (INVERSE,))  # the inverse step alone
    assert sent.keys() == expected.keys() and len(sent) >= 2
    for layer in sent:
        assert np.array_equal(sent[layer], expected[layer]), layer
    after, forward, inverse = algorithm_1.parameters(), frozen.parameters(), inverse_only.parameters()
    for key in after:
        want = inverse[key] if "feedback." in key else forward[key]
        assert np.array_equal(after[key], want), key
    assert any("feedback." in key for key in after)
    # ... which the other order does not give: its targets use the inverses just updated.
    other = _tp_net(rule, schedule="parallel", parallel_order="inverse_first")
    assert other.rule.passes() == PARALLEL_INVERSE_FIRST
    other_sent = _targets(other)
    other.step(0, x, onehot, PARALLEL_INVERSE_FIRST[0])
    assert any(not np.array_equal(other_sent[layer], sent[layer]) for layer in sent)


@pytest.mark.parametrize("rule", SCHEDULED)
def test_inverse_first_parallel_step_equals_alternating_epoch_on_one_batch(rule):
    """On a single minibatch, one inverse-first parallel step and one alternating epoch
    (inverse pass, then forward pass) apply the same updates, bit for bit: only the phase
    order differs."""
    x, _, onehot = random_batch(0, 5, 4, 3)
    params = []
    for options in ({"schedule": "parallel", "parallel_order": "inverse_first"}, {"schedule": "alternating"}):
        net = _tp_net(rule, **options)
        for step, plan in enumerate(net.rule.passes()):
            net.step(step, x, onehot, plan)
        params.append(net.parameters())
    assert params[0].keys() == params[1].keys()
    for key in params[0]:
        assert np.array_equal(params[0][key], params[1][key]), key


def test_error_feedback_rules_have_one_pass():
    net = build_network(tiny_config("fa", [4], 3), get_backend(), (2,), 3)
    assert net.rule.passes() == ((FORWARD, FEEDBACK),)


def test_schedule_command(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[layers]]\ntype = "dense"\nunits = 4\n[[layers]]\ntype = "softmax"\nunits = 10\n'
                    '[rule]\nname = "dtp"\nschedule = "alternating"\n')
    result = CliRunner().invoke(main, ["schedule", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 pass(es)" in result.output and "inverse" in result.output and "penultimate" in result.output
    bad = CliRunner().invoke(main, ["schedule", str(path), "--set", 'rule.schedule="sideways"'])
    assert bad.exit_code == 2 and "schedule must be one of" in bad.output
    parallel = CliRunner().invoke(main, ["schedule", str(path), "--set", 'rule.schedule="parallel"'])
    assert parallel.exit_code == 0 and "forward (input injects inputs) -> target_inverse" in parallel.output
    order = CliRunner().invoke(main, ["schedule", str(path), "--set", 'rule.parallel_order="backwards"'])
    assert order.exit_code == 2 and "parallel_order must be one of targets_first, inverse_first" in order.output
