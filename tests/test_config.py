"""Config parsing: typed frozen dataclasses, every problem reported, overrides, round trip."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from localnet.config import config_to_dict, dump_toml, load_config, parse_config
from localnet.errors import ConfigError

MODELS = sorted((Path(__file__).parents[1] / "models").glob("*.toml"))
BASE = {"name": "t", "layers": [{"type": "dense", "units": 4}, {"type": "softmax", "units": 3}], "rule": {"name": "fa"}}


def problems(raw):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return str(info.value).splitlines()


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_shipped_configs_parse_and_round_trip(path):
    config = load_config(path)
    text = dump_toml(config_to_dict(config))
    assert parse_config(tomllib.loads(text)) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1


def test_unknown_key_names_the_nearest_valid_key():
    (line,) = problems(BASE | {"optim": {"lrr": 1e-3}})
    assert "optim.lrr" in line and "'lr'" in line


def test_wrong_type_names_the_key():
    (line,) = problems(BASE | {"data": {"batch_size": "big"}})
    assert "data.batch_size" in line and "int" in line


def test_unknown_rule_and_layer_list_known_names():
    lines = problems(BASE | {"rule": {"name": "bpp"}, "layers": [{"type": "dens", "units": 3}, {"type": "softmax", "units": 3}]})
    assert any("'bpp'" in line and "did you mean 'bp'" in line for line in lines)
    assert any("'dens'" in line and "dense" in line for line in lines)


def test_all_problems_are_reported_at_once():
    lines = problems(BASE | {"seeed": 1, "optim": {"lr": -1.0}, "data": {"batch_size": 0}})
    assert len(lines) >= 2 and any("seeed" in line for line in lines)


def test_output_layer_must_be_last():
    assert any("output layer" in line for line in problems(BASE | {"layers": [{"type": "dense", "units": 3}]}))


def test_ints_pass_as_floats_but_bools_are_not_ints():
    assert parse_config(BASE | {"optim": {"lr": 1}}).optim.lr == 1.0
    assert any("seed" in line for line in problems(BASE | {"seed": True}))


def test_repeat_expands_layers():
    config = parse_config(BASE | {"layers": [{"type": "dense", "units": 4, "repeat": 3}, {"type": "softmax", "units": 3}]})
    assert len(config.layers) == 4


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_unknown_dataset_is_a_config_error_with_a_suggestion():
    (line,) = problems(BASE | {"data": {"dataset": "mnits"}})
    assert "data.dataset 'mnits'" in line and "did you mean 'mnist'" in line


@pytest.mark.parametrize("data,limit", [({"batch_size": 60_001}, "60,000"),
                                        ({"batch_size": 64, "limit_train": 50}, "50 ")])
def test_batch_larger_than_the_training_set(data, limit):
    (line,) = problems(BASE | {"data": data})
    assert "data.batch_size" in line and limit in line


def test_rule_that_cannot_run_on_a_layer_type(monkeypatch):
    from localnet.registry import RULES

    fa = RULES.get("fa")
    monkeypatch.setattr(fa, "layer_types", frozenset({"softmax", "locally_connected"}))
    (line,) = problems(BASE)
    assert "rule 'fa' cannot run on layers.0 (type 'dense')" in line and "locally_connected" in line


# -- a layer's own forward-Adam keys: [[layers]] optim = {...} over [optim] -------------------

PER_LAYER = BASE | {"optim": {"lr": 2e-4, "beta2": 0.95, "eps": 1e-4},
                    "layers": [{"type": "dense", "units": 4, "repeat": 2},
                               {"type": "softmax", "units": 3, "optim": {"beta2": 0.999}}]}


def test_a_layers_optim_keys_override_the_global_ones_and_the_rest_inherit():
    config = parse_config(PER_LAYER)
    assert config.optim_for(0) == config.optim_for(1) == config.optim
    out = config.optim_for(2)
    assert (out.lr, out.beta1, out.beta2, out.eps) == (2e-4, 0.9, 0.999, 1e-4)
    assert parse_config(BASE).layer_optim == ()  # no overrides: nothing stored, nothing dumped


def test_repeat_copies_the_override_and_the_resolved_config_round_trips():
    raw = PER_LAYER | {"layers": [{"type": "dense", "units": 4, "repeat": 2, "optim": {"lr": 1e-3}},
                                  {"type": "softmax", "units": 3}]}
    config = parse_config(raw)
    assert [config.optim_for(i).lr for i in range(3)] == [1e-3, 1e-3, 2e-4]
    text = dump_toml(config_to_dict(config))
    assert parse_config(tomllib.loads(text)) == config
    assert config_to_dict(config)["layers"][0]["optim"] == {"lr": 1e-3}  # only the keys given


def test_bad_layer_optim_keys_are_named():
    (line,) = problems(PER_LAYER | {"layers": [{"type": "dense", "units": 4, "optim": {"bta2": 0.9}},
                                               {"type": "softmax", "units": 3}]})
    assert "layers.0.optim.bta2" in line and "'beta2'" in line
    # Named by the file's table index (as --set layers.N indexes it), not the repeated layer's.
    (line,) = problems(PER_LAYER | {"layers": [{"type": "dense", "units": 4, "repeat": 3},
                                               {"type": "softmax", "units": 3, "optim": {"beta2": 1.5, "lr": 1e-3}}]})
    assert line.endswith("[layers.1.optim] beta2 must be in [0, 1), got 1.5")
    (line,) = problems(PER_LAYER | {"layers": [{"type": "dense", "units": 4, "optim": {"eps": 0.0}},
                                               {"type": "softmax", "units": 3}]})
    assert line.endswith("[layers.0.optim] eps must be > 0, got 0.0")
    assert any("layers.0.optim" in line and "table" in line for line in problems(
        PER_LAYER | {"layers": [{"type": "dense", "units": 4, "optim": 0.1}, {"type": "softmax", "units": 3}]}))


def test_each_node_gets_its_layers_adam_settings():
    from localnet.backend import get_backend
    from localnet.network import build_network

    net = build_network(parse_config(PER_LAYER), get_backend("numpy", "float64"), (5,), 3)
    assert [node.optimizer.config.beta2 for node in net.nodes] == [0.95, 0.95, 0.999]


def test_layers_are_named_by_their_table_as_set_addresses_them():
    """A repeated table is one name: the third table is layers.2 however many layers the
    first one stands for, in the config checks and in the memory estimate alike."""
    from localnet.plan import check_memory

    raw = {"name": "n", "rule": {"name": "bp"},
           "layers": [{"type": "dense", "units": 4, "repeat": 3}, {"type": "softmax", "units": 10},
                      {"type": "dense", "units": 4}]}
    lines = problems(raw)
    assert any(line.startswith("config: layers.1 is an output layer but is not last") for line in lines), lines
    assert any("the last [[layers]] entry (layers.2)" in line for line in lines), lines
    assert not any("layers[" in line or "layers.3" in line or "layers.4" in line for line in lines), lines
    big = parse_config({"name": "b", "rule": {"name": "bp"},
                        "layers": [{"type": "dense", "units": 8, "repeat": 3}, {"type": "dense", "units": 10**6},
                                   {"type": "dense", "units": 2}, {"type": "softmax", "units": 10}]})
    with pytest.raises(ConfigError, match=r"the largest layers\.1 dense with "):
        check_memory(big, (28, 28, 1), limit=2**20)
