"""Conformance suites for learning rules and layer types, importable by anyone who adds one.

Every registered rule and layer type must pass them; localnet's own tests run them over the
whole registry (tests/testing/test_conformance.py), so registering a rule or a layer puts it
under all of them. To check a rule of your own package, register it (import its module) and
call the checks with its name, e.g. in a pytest test::

    from localnet.backend import get_backend
    from localnet.testing import conformance_problems

    def test_my_rule_conforms():
        assert conformance_problems("my_rule", get_backend("numpy", "float64")) == []

The checks: declarations are well formed; locality per hop against the declared transport
(`locality_violations`); handlers change no array (they return gradients); every layer with
weights (and every learned state group) gets a non-zero update; the adjoint identity and exact
inverses of every layer type; FA with B = W and DFA on one hidden layer with B = W^T equal
localnet's bp; `plan` counts what the build allocates; a config survives a TOML round trip.
"""

from __future__ import annotations

from ..backend import Backend
from .checks import (
    allocated_bytes,
    check_adjoint,
    check_declarations,
    check_dfa_equals_bp,
    check_fa_equals_bp,
    check_plan,
    check_pure,
    check_round_trip,
    check_updates,
)
from .locality import differing_hops, locality_violations, overwrite_forward_weights
from .nets import example_batch, example_config, example_layers, example_network, layer_types, registered, rule_names

__all__ = ["allocated_bytes", "check_adjoint", "check_declarations", "check_dfa_equals_bp", "check_fa_equals_bp",
           "check_plan", "check_pure", "check_round_trip", "check_updates", "conformance_problems", "differing_hops",
           "example_batch", "example_config", "example_layers", "example_network", "layer_types",
           "locality_violations", "overwrite_forward_weights", "registered", "rule_names"]


def conformance_problems(rule: str, backend: Backend, seed: int = 0) -> list[str]:
    """Every rule-level check of `rule` on every registered layer type: one line per failure."""
    problems = []
    for check, args in [(check_declarations, (rule,))] + [
            (c, a) for kind in layer_types() for c, a in (
                (locality_violations, (rule, kind, backend, seed)), (check_updates, (rule, kind, backend, seed)),
                (check_pure, (rule, kind, backend, seed)),
                (check_plan, (rule, kind, backend)), (check_round_trip, (rule, kind)))]:
        try:
            found = check(*args)
        except AssertionError as err:
            found = [str(err)]
        problems += found or []
    return problems

