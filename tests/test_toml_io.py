"""TOML text in and out: --set overrides on a raw document, and the config writer."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, strategies as st

from localnet.config import parse_config
from localnet.errors import ConfigError
from localnet.toml_io import apply_overrides, dump_toml, parse_value

BASE = {"name": "t", "layers": [{"type": "dense", "units": 4}, {"type": "softmax", "units": 3}], "rule": {"name": "fa"}}


def test_overrides_apply_in_order_with_toml_values():
    raw = apply_overrides(BASE, ["optim.lr=3e-4", "layers.0.units=7", "rule.name=bp", "train.eval_train=false"])
    config = parse_config(raw)
    assert config.optim.lr == 3e-4 and config.layers[0].units == 7 and not config.train.eval_train
    assert BASE["layers"][0]["units"] == 4  # the original is untouched


@pytest.mark.parametrize("item", ["optim.lr", "layers.9.units=1", "name.x=1"])
def test_bad_overrides_are_config_errors(item):
    with pytest.raises(ConfigError):
        apply_overrides(BASE, [item])


def test_set_values_are_toml_literals_and_bare_words_strings():
    assert parse_value("3e-4") == 3e-4 and parse_value("true") is True and parse_value("[1, 2]") == [1, 2]
    assert parse_value('"unit"') == "unit" and parse_value("unit") == "unit"


keys = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = (st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12))
values = scalars | st.lists(st.integers(-100, 100), max_size=4)
tables = st.dictionaries(keys, values, max_size=4)


@given(st.dictionaries(keys, values | tables | st.lists(tables.filter(bool), min_size=1, max_size=3), max_size=5))
def test_dump_toml_round_trips(data):
    assert tomllib.loads(dump_toml(data)) == data


def test_dump_toml_refuses_what_it_cannot_write():
    with pytest.raises(TypeError, match="NoneType"):
        dump_toml({"x": None})
