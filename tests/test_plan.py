"""`localnet plan`: counts and bytes follow from the shapes."""

from __future__ import annotations

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
