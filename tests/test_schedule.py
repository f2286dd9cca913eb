"""Schedules: plans are data; parallel and alternating differ only in phase order."""

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
from localnet.schedule import ALTERNATING, FEEDBACK, FORWARD, INVERSE, PARALLEL, TARGET, Phase
from localnet.testing import rule_names


def test_plans():
    assert PARALLEL == ((INVERSE, TARGET),)
    assert ALTERNATING == ((INVERSE,), (FORWARD, TARGET))
    with pytest.raises(ValueError):
        Phase("x", "nowhere")


def _options(rule):
    return {f.name for f in dataclasses.fields(RULES.get(rule).Options)}


SCHEDULED = [rule for rule in rule_names() if "schedule" in _options(rule)]


@pytest.mark.parametrize("rule", SCHEDULED)
def test_parallel_step_equals_alternating_epoch_on_one_batch(rule):
    """On a single minibatch, one parallel step and one alternating epoch (inverse pass,
    then forward pass) apply the same updates, bit for bit: only the phase order differs."""
    assert len(SCHEDULED) >= 4  # the TP family
    options = {"aux_units": 3} if "aux_units" in _options(rule) else {}
    x, _, onehot = random_batch(0, 5, 4, 3)
    params = []
    for schedule in ("parallel", "alternating"):
        config = tiny_config(rule, [6, 5], 3, rule_options={"schedule": schedule, "sigma": 0.3, **options},
                             dtype="float64")
        net = build_network(config, get_backend("numpy", "float64"), (4,), 3)
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
