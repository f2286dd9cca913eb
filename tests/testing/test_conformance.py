"""The conformance suites over every registered rule and layer type, on every backend (numpy
always, CuPy where a GPU is): registering a rule or a layer puts it under all of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localnet.testing import (
    check_adjoint,
    check_declarations,
    check_dfa_equals_bp,
    check_fa_equals_bp,
    check_plan,
    check_round_trip,
    check_updates,
    layer_types,
    locality_violations,
    rule_names,
)

RULES = rule_names()
LAYER_TYPES = layer_types()
few = settings(max_examples=4, deadline=None)
cases = {"seed": st.integers(0, 2**16), "batch": st.integers(1, 4)}


@pytest.mark.parametrize("rule", RULES)
def test_declarations(rule):
    check_declarations(rule)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
@few
@given(**cases)
def test_locality_per_hop_against_the_declared_transport(rule, kind, backend64, seed, batch):
    assert locality_violations(rule, kind, backend64, seed, batch) == []


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
@few
@given(**cases)
def test_every_update_is_nonzero(rule, kind, backend64, seed, batch):
    check_updates(rule, kind, backend64, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
def test_plan_counts_what_the_build_allocates(rule, kind, backend64):
    check_plan(rule, kind, backend64)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
def test_config_round_trip(rule, kind):
    check_round_trip(rule, kind)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_adjoint_identity(kind, backend64, seed, batch):
    check_adjoint(kind, backend64, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_fa_with_b_equal_to_w_is_bp(kind, backend64, seed, batch):
    check_fa_equals_bp(kind, backend64, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_dfa_on_one_hidden_layer_with_b_equal_to_w_transposed_is_bp(kind, backend64, seed, batch):
    check_dfa_equals_bp(kind, backend64, seed, batch)
