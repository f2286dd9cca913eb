"""Every shipped config finds its cell of the paper's tables (rules the paper does not run,
and ImageNet rows it did not run, have none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localnet.config import config_to_dict, load_config
from localnet.report.paper import method_of, published, table_for

MODELS = sorted((Path(__file__).parents[2] / "models").glob("*.toml"))
DATASETS = {"mnist": "mnist", "cifar": "cifar10", "imagenet": "imagenet", "imagenet32": "imagenet32",
            "imagenet64": "imagenet64"}


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_each_shipped_config_maps_to_its_cell(path):
    config = config_to_dict(load_config(path))
    dataset, net, *rest = path.stem.split("_")
    method = "_".join(rest)
    if method in ("tp", "sdtp") and config["rule"].get("schedule"):  # names that leave the schedule implicit
        method = f"{method}_{config['rule']['schedule']}"
    if config["rule"]["name"] == "dfa_generated":  # DFA with feedback generated tile by tile: no cell of its own
        method = "dfa_generated"
    assert method_of(config) == method
    table = table_for(DATASETS[dataset])
    if dataset in ("imagenet32", "imagenet64"):  # the paper ran neither: no cell, no published number
        assert table is None and published(config) is None
        return
    assert table is not None
    assert published(config) == table.cells.get(net, {}).get(method)
    assert config["data"]["dataset"] == table.dataset


def test_spot_values_and_unknowns():
    mnist_fc_bp = {"data": {"dataset": "mnist"}, "rule": {"name": "bp"}, "layers": [{"type": "dense"}, {"type": "softmax"}]}
    assert published(mnist_fc_bp) == (0.00, 1.48)
    lc_dtp = {"data": {"dataset": "cifar10"}, "rule": {"name": "dtp", "schedule": "alternating"},
              "layers": [{"type": "locally_connected"}, {"type": "flatten"}, {"type": "softmax"}]}
    assert published(lc_dtp) == (28.54, 39.47)
    assert published({**mnist_fc_bp, "data": {"dataset": "imagenet"}}) is None  # Table 2 has no FC row
    assert published({**mnist_fc_bp, "data": {"dataset": "imagenet32"}}) is None
