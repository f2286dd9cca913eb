"""Search spaces: sampled values always lie in the space, trials are reproducible, bad
spaces give one clear error, and the shipped Table 4 spaces apply to the shipped configs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from localnet.config import load_config
from localnet.errors import ConfigError
from localnet.sweep import load_space, parse_space

MODELS = Path(__file__).resolve().parents[2] / "models"

positive = st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False)
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@st.composite
def spaces(draw):
    """Raw space tables with one to five dimensions of every kind."""
    raw = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["loguniform", "uniform", "int", "choice"]))
        if kind == "loguniform":
            low, high = sorted(draw(st.lists(positive, min_size=2, max_size=2, unique=True)))
            spec = [low, high]
        elif kind == "uniform":
            low, high = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
            spec = [low, high]
        elif kind == "int":
            low, high = sorted(draw(st.lists(st.integers(-10**6, 10**6), min_size=2, max_size=2, unique=True)))
            spec = [low, high]
        else:
            spec = draw(st.lists(st.one_of(finite, st.integers(), st.text(max_size=5), st.booleans()),
                                 min_size=1, max_size=4))
        raw[f"section{i % 2}.key{i}"] = {kind: spec}
    return raw


@given(spaces(), st.integers(0, 2**31), st.integers(0, 10**6))
def test_samples_lie_in_the_space(raw, seed, trial):
    space = parse_space(raw)
    values = space.sample(seed, trial)
    assert list(values) == list(raw)
    for dim in space.dims:
        assert dim.contains(values[dim.key]), (dim, values[dim.key])


@given(spaces(), st.integers(0, 2**31), st.integers(0, 1000))
def test_a_trial_is_a_function_of_seed_and_index(raw, seed, trial):
    space = parse_space(raw)
    assert space.sample(seed, trial) == space.sample(seed, trial)


def test_trials_differ_and_cover_the_range():
    space = parse_space({"optim.lr": {"loguniform": [1e-5, 3e-4]}, "optim.eps": {"choice": [1e-4, 1e-6, 1e-8]}})
    draws = [space.sample(0, t) for t in range(200)]
    lrs = [d["optim.lr"] for d in draws]
    assert len(set(lrs)) == 200
    # Log-uniform: about half the draws fall below the geometric midpoint.
    below = sum(lr < math.sqrt(1e-5 * 3e-4) for lr in lrs)
    assert 70 < below < 130
    assert {d["optim.eps"] for d in draws} == {1e-4, 1e-6, 1e-8}


def test_nested_tables_are_dotted_keys():
    space = parse_space({"optim": {"lr": {"uniform": [0.1, 0.2]}}, "rule.sigma": {"uniform": [0.01, 0.3]}})
    assert space.keys == ("optim.lr", "rule.sigma")


def test_overrides_round_trip_every_digit():
    space = parse_space({"optim.lr": {"loguniform": [1e-5, 3e-4]}, "rule.noise": {"choice": ["denoising"]},
                         "data.batch_size": {"int": [16, 128]}})
    values = space.sample(3, 1)
    config = load_config(MODELS / "mnist_fc_sdtp_parallel.toml", space.overrides(values))
    assert config.optim.lr == values["optim.lr"]
    assert config.data.batch_size == values["data.batch_size"]


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "space is empty"),
    ({"optim.lr": {"lognormal": [1, 2]}}, "unknown distribution 'lognormal'"),
    ({"optim.lr": {"uniform": [0.3, 0.3]}}, "is empty"),
    ({"optim.lr": {"uniform": [0.3, 0.1]}}, "is empty"),
    ({"optim.lr": {"loguniform": [-1e-5, 3e-4]}}, "must be > 0"),
    ({"optim.lr": {"loguniform": [0, 3e-4]}}, "must be > 0"),
    ({"optim.lr": {"uniform": [0.1]}}, "two numbers"),
    ({"optim.lr": {"choice": []}}, "non-empty list"),
    ({"optim.lr": 0.1}, "must be one distribution"),
    ({"optim.lr": {"uniform": [0.1, 0.2], "choice": [1]}}, "must be one distribution"),
    ({"data.batch_size": {"int": [1.5, 4]}}, "whole numbers"),
])
def test_bad_spaces_give_one_line(raw, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_space(raw, "s.toml")
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("s.toml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_space(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("optim.lr = {loguniform = [1e-5,")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_space(bad)


@pytest.mark.parametrize("rule", sorted(p.stem.removeprefix("paper_table4_")
                                          for p in (MODELS / "spaces").glob("paper_table4_*.toml")))
def test_paper_spaces_apply_to_the_shipped_configs(rule):
    """Every Table 4 space parses, and a sample of it is a valid override of each matching config."""
    space = load_space(MODELS / "spaces" / f"paper_table4_{rule}.toml")
    configs = sorted(p for p in MODELS.glob(f"*_{rule}*.toml") if p.stem.split("_")[2] == rule)
    assert configs
    for path in configs:
        values = space.sample(0, 0)
        config = load_config(path, space.overrides(values))
        assert config.optim.lr == values["optim.lr"]
