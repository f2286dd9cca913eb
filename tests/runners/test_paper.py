"""runners.paper: every shipped config finds its Table 1 row (rules the paper does not run have none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localnet.config import config_to_dict, load_config
from runners.paper import TABLE1, method_of, published

MODELS = sorted((Path(__file__).parents[2] / "models").glob("*.toml"))


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_each_shipped_config_maps_to_its_table_1_row(path):
    config = config_to_dict(load_config(path))
    dataset, net, *rest = path.stem.split("_")
    method = "_".join(rest)  # the config names follow Table 1's rows, but mnist_fc_tp has a schedule too
    assert method_of(config) == (f"tp_{config['rule']['schedule']}" if method == "tp" else method)
    row = published(config)
    table = TABLE1[{"mnist": "mnist", "cifar": "cifar10"}[dataset]]
    if method not in table:  # a rule the paper does not run (vanilla TP, sign symmetry) has no row
        assert row is None
        return
    fc, lc = table[method]
    assert row == (lc if net == "lc" else fc)


def test_spot_values_and_unknowns():
    mnist_fc_bp = {"data": {"dataset": "mnist"}, "rule": {"name": "bp"}, "layers": [{"type": "dense"}, {"type": "softmax"}]}
    assert published(mnist_fc_bp) == (0.00, 1.48)
    lc_dtp = {"data": {"dataset": "cifar10"}, "rule": {"name": "dtp", "schedule": "alternating"},
              "layers": [{"type": "locally_connected"}, {"type": "flatten"}, {"type": "softmax"}]}
    assert published(lc_dtp) == (28.54, 39.47)
    assert published({**mnist_fc_bp, "data": {"dataset": "imagenet"}}) is None
