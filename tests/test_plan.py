"""`localnet plan`: counts and bytes follow from the shapes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import tiny_config

from localnet.backend import get_backend
from localnet.cli import main
from localnet.network import build_network
from localnet.plan import plan


def test_plan_counts_weights_feedback_adam_and_activations():
    net = build_network(tiny_config("sdtp", [4], 3, dtype="float64"), get_backend("numpy", "float64"), (5,), 3)
    first, out = plan(net, batch=2)
    assert first.parameters == 5 * 4 + 4 and first.weights == 24 * 8 and first.feedback == 0
    assert out.parameters == 4 * 3 + 3 and out.feedback == (4 * 3 + 4) * 8  # inverse V (4, 3) and c (4,)
    assert out.optimizer == 3 * (15 + 16) * 8  # m, v, scratch for W, b, V, c
    assert first.activations == 2 * (5 + 2 * 4) * 8


def test_plan_command_on_shipped_lc_config():
    result = CliRunner().invoke(main, ["plan", "models/mnist_lc_bp.toml"])
    assert result.exit_code == 0, result.output
    assert "4,191,562" in result.output and "LocallyConnected" in result.output


def test_every_layer_type_estimates_itself_without_building():
    """check_memory and `validate` rely on Spec.estimate: a layer type without one would
    silently skip the memory check."""
    from localnet.registry import LAYERS

    for name in LAYERS.names():
        assert callable(getattr(LAYERS.get(name).Spec, "estimate", None)), name


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("memory.max", "1073741824\n", 2**30),          # cgroup v2 with a limit
    ("memory.max", "max\n", None),                   # v2 without one
    ("memory/memory.limit_in_bytes", "536870912\n", 2**29),  # v1 with a limit
    ("memory/memory.limit_in_bytes", "9223372036854771712\n", None),  # v1 "unlimited"
])
def test_cgroup_memory_limit(tmp_path, name, text, expected):
    from localnet.plan import cgroup_memory_limit

    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    assert cgroup_memory_limit(str(tmp_path)) == expected


def test_cgroup_memory_limit_absent(tmp_path):
    from localnet.plan import cgroup_memory_limit

    assert cgroup_memory_limit(str(tmp_path)) is None


def test_physical_memory_respects_a_lower_cgroup_limit(monkeypatch):
    import localnet.plan as plan_module

    monkeypatch.setattr(plan_module, "cgroup_memory_limit", lambda: 2**20)
    assert plan_module.physical_memory("numpy") == 2**20
