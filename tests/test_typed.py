"""Typed TOML tables: every problem of a table is recorded, with the key it concerns."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, strategies as st

from localnet.errors import ConfigError
from localnet.typed import Problems, build_dataclass, show


@dataclass(frozen=True)
class Inner:
    rate: float = 0.5


@dataclass(frozen=True)
class Table:
    units: int
    name: str = "x"
    sizes: tuple[int, ...] = ()
    inner: Inner = Inner()
    gain: float | None = None

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {self.units}")


def build(raw):
    problems = Problems()
    return build_dataclass(Table, raw, "t", problems), problems.lines


def test_a_valid_table_builds_with_coercions():
    table, lines = build({"units": 3, "sizes": [1, 2], "inner": {"rate": 1}, "gain": 2})
    assert lines == [] and table == Table(units=3, sizes=(1, 2), inner=Inner(rate=1.0), gain=2.0)
    assert isinstance(table.inner.rate, float) and isinstance(table.sizes, tuple)


def test_every_problem_is_recorded_with_its_key():
    table, lines = build({"unitz": 3, "name": 4, "sizes": [1, "a"], "inner": {"rate": float("nan")}})
    assert table is None
    text = "\n".join(lines)
    assert "unknown key 't.unitz'" in text and "'units'" in text  # the nearest valid key
    assert "t.name must be str" in text and "t.sizes.1 must be int" in text
    assert "t.inner.rate must be a finite number" in text and "missing required key 't.units'" in text


def test_bools_are_not_ints_and_post_init_checks_are_reported():
    assert "t.units must be int, got bool" in build({"units": True})[1][0]
    assert build({"units": 0})[1] == ["[t] units must be >= 1, got 0"]


@given(st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_ints_outside_tomls_range_are_refused_without_printing_them(value):
    _, lines = build({"units": value})
    assert len(lines) == 1 and "64-bit" in lines[0] and "2**" in lines[0] and len(lines[0]) < 200
    assert show(value).endswith("or more")


def test_problems_raise_one_line_each_with_the_source():
    problems = Problems()
    problems.add("a is wrong")
    problems.add("b is wrong")
    with pytest.raises(ConfigError) as info:
        problems.raise_if_any("cfg.toml")
    assert str(info.value).splitlines() == ["cfg.toml: a is wrong", "cfg.toml: b is wrong"]
    Problems().raise_if_any("nothing")  # no problems: no error
