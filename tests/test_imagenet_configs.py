"""models/imagenet_lc_*.toml: the paper's ImageNet LC net, Table 5's values, one file per Table 2 row and more."""

from __future__ import annotations

from pathlib import Path

import pytest

from localnet.config import load_config
from localnet.data.imagenet_spec import input_shape_of
from localnet.plan import estimate_layers
from runners.drivers.make_imagenet_configs import VARIANTS, config_text

MODELS = Path(__file__).resolve().parents[1] / "models"
TABLE2_ROWS = {"dtp_parallel", "dtp_alternating", "sdtp", "fa", "bp", "bp_convnet"}


def test_every_table_2_row_and_the_rest_have_a_config():
    names = {p.stem.removeprefix("imagenet_lc_") for p in MODELS.glob("imagenet_lc_*.toml")}
    assert names == set(VARIANTS) and names >= TABLE2_ROWS
    assert {"sdtp_alternating", "aosdtp_parallel", "aosdtp_alternating", "dfa"} <= names


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_is_the_generator_output_and_the_paper_architecture(variant):
    path = MODELS / f"imagenet_lc_{variant}.toml"
    assert path.read_text() == config_text(variant), "regenerate: python -m runners.drivers.make_imagenet_configs"
    config = load_config(path)
    assert config.backend == "auto" and config.data.dataset == "imagenet"
    rows = estimate_layers(config, input_shape_of(config))
    shapes = [r.out_shape for r in rows]
    assert shapes == [(56, 56, 48), (28, 28, 48), (28, 28, 96), (14, 14, 96), (14, 14, 192), (7, 7, 192),
                      (7, 7, 384), (18816,), (1000,)]
    params = sum(r.parameters for r in rows)
    if variant == "bp_convnet":
        assert params < 25_000_000  # shared weights
    else:
        assert 255e6 < params < 265e6  # "about 260 M" with per-position biases
        assert rows[-1].parameters == 18_816 * 1000 + 1000  # the softmax: 18.8 M of them


def test_headline_values_are_table_5_sdtp_parallel():
    config = load_config(MODELS / "imagenet_lc_sdtp.toml")
    assert config.rule.schedule == "parallel" and config.rule.sigma == 0.168522
    assert (config.optim.lr, config.optim.beta2, config.optim.eps) == (0.000011, 0.999, 1e-6)
    assert (config.inverse_optim.lr, config.inverse_optim.eps) == (0.000170, 1e-8)
