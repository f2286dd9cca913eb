"""The conformance suites over every registered rule and layer type, on every backend (numpy
always, CuPy where a GPU is): registering a rule or a layer puts it under all of them.

Checks that hold bit for bit (locality, non-zero updates, FA with B = W against BP, plan's
byte counts) run in float32 and float64 (`any_backend`); those that compare sums of
products (adjoint identities, DFA against BP) run in float64 at relative 1e-10."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from localnet import testing as conformance

RULES = conformance.rule_names()
LAYER_TYPES = conformance.layer_types()
few = settings(max_examples=4, deadline=None)
cases = {"seed": st.integers(0, 2**16), "batch": st.integers(1, 4)}


@pytest.mark.parametrize("rule", RULES)
def test_declarations(rule):
    conformance.check_declarations(rule)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
@few
@given(**cases)
def test_locality_per_hop_against_the_declared_transport(rule, kind, any_backend, seed, batch):
    assert conformance.locality_violations(rule, kind, any_backend, seed, batch) == []


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
@few
@given(**cases)
def test_every_update_is_nonzero(rule, kind, any_backend, seed, batch):
    conformance.check_updates(rule, kind, any_backend, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
def test_handlers_mutate_nothing(rule, kind, any_backend):
    conformance.check_pure(rule, kind, any_backend)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
def test_plan_counts_what_the_build_allocates(rule, kind, any_backend):
    conformance.check_plan(rule, kind, any_backend)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@pytest.mark.parametrize("rule", RULES)
def test_config_round_trip(rule, kind):
    conformance.check_round_trip(rule, kind)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_adjoint_identity(kind, backend64, seed, batch):
    conformance.check_adjoint(kind, backend64, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_fa_with_b_equal_to_w_is_bp(kind, any_backend, seed, batch):
    conformance.check_fa_equals_bp(kind, any_backend, seed, batch)


@pytest.mark.parametrize("kind", LAYER_TYPES)
@few
@given(**cases)
def test_dfa_on_one_hidden_layer_with_b_equal_to_w_transposed_is_bp(kind, backend64, seed, batch):
    conformance.check_dfa_equals_bp(kind, backend64, seed, batch)
