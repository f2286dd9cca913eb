"""Search spaces: TOML tables of config keys and the distribution each is drawn from.

A space file maps `--set` keys to one distribution each::

    "optim.lr" = {loguniform = [1e-5, 3e-4]}     # log-uniform on [low, high]
    "optim.beta2" = {choice = [0.99, 0.999]}      # one of the listed values, equally likely
    "rule.sigma" = {uniform = [0.01, 0.3]}        # uniform on [low, high]
    "data.batch_size" = {int = [16, 128]}         # uniform integer, both ends included

Keys may also be written as nested tables (`[optim]` then `lr = {loguniform = [...]}`).
A trial's values are drawn from the stream (sweep seed, trial index) alone, so trial 7 of
a sweep gets the same values whether it runs first, last, or again after a crash.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..seeding import rng_for

KINDS = ("loguniform", "uniform", "int", "choice")
Scalar = bool | int | float | str


@dataclass(frozen=True)
class Dimension:
    """One searched config key. kind: one of KINDS; values: (low, high) for the ranges,
    the options for `choice`."""

    key: str
    kind: str
    values: tuple[Scalar, ...]

    def sample(self, rng: np.random.Generator) -> Scalar:
        """One value drawn with `rng` (always one draw, so dimensions never shift each other)."""
        u = float(rng.random())
        if self.kind == "choice":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = float(self.values[0]), float(self.values[1])
        if self.kind == "loguniform":
            return min(max(math.exp(math.log(low) + u * (math.log(high) - math.log(low))), low), high)
        if self.kind == "int":
            return int(self.values[0]) + min(int(u * (int(high) - int(low) + 1)), int(high) - int(low))
        return low + u * (high - low)

    def contains(self, value: Any) -> bool:
        """Whether `value` lies in this dimension (the property the sampler guarantees)."""
        if self.kind == "choice":
            return any(type(value) is type(option) and value == option for option in self.values)
        if self.kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return False
        return float(self.values[0]) <= float(value) <= float(self.values[1])

    def describe(self) -> str:
        return f"{self.kind}{list(self.values)}"


@dataclass(frozen=True)
class Space:
    """A search space: its dimensions in file order, and where it came from (for errors)."""

    dims: tuple[Dimension, ...]
    source: str = "space"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dims)

    def sample(self, seed: int, trial: int) -> dict[str, Scalar]:
        """The values of trial `trial` in a sweep seeded with `seed`, by key."""
        rng = rng_for(seed, "sweep", "trial", str(trial))
        return {d.key: d.sample(rng) for d in self.dims}

    def overrides(self, values: dict[str, Scalar]) -> list[str]:
        """`--set` strings (`key=literal`) that apply `values` to a config."""
        return [f"{key}={toml_literal(value)}" for key, value in values.items()]


def toml_literal(value: Scalar) -> str:
    """A TOML literal for a sampled scalar (repr keeps every float digit)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_space(raw: dict[str, Any], source: str = "space") -> Space:
    """Check a parsed space TOML and return its Space; ConfigError (one line) on any fault."""
    dims = [_dimension(key, spec, source) for key, spec in _flatten(raw, "", source)]
    if not dims:
        raise ConfigError(f"{source}: the space is empty: add a line such as \"optim.lr\" = {{loguniform = [1e-5, 3e-4]}}")
    return Space(tuple(dims), source)


def load_space(path: str | Path) -> Space:
    """Read and check a space file."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block the read
        raise ConfigError(f"space file {path} is not a regular file: pass --space with a TOML file (see models/spaces/)")
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"space file {path} does not exist: pass --space with a TOML file (see models/spaces/)") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    return parse_space(raw, str(path))


def _flatten(raw: dict[str, Any], prefix: str, source: str) -> list[tuple[str, Any]]:
    """(dotted key, distribution table) pairs; a table whose values are all tables is a section."""
    out: list[tuple[str, Any]] = []
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            out += _flatten(value, f"{name}.", source)
        else:
            out.append((name, value))
    return out


def _dimension(key: str, spec: Any, source: str) -> Dimension:
    where = f"{source}: {key!r}"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"{where} must be one distribution, e.g. {{loguniform = [1e-5, 3e-4]}} "
                          f"(one of {', '.join(KINDS)})")
    (kind, values), = spec.items()
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown distribution {kind!r}: use one of {', '.join(KINDS)}")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {kind} needs a non-empty list, e.g. {kind} = [...]")
    if kind == "choice":
        if any(isinstance(v, list | dict) for v in values):
            raise ConfigError(f"{where}: choice options must be numbers, strings or booleans")
        return Dimension(key, kind, tuple(values))
    if len(values) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}: {kind} needs two numbers [low, high], got {values}")
    low, high = values
    if not all(math.isfinite(v) for v in values) or not low < high:
        raise ConfigError(f"{where}: {kind} range [{low}, {high}] is empty: write [low, high] with low < high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform bounds must be > 0, got {low}: use uniform for ranges that reach 0")
    if kind == "int" and not all(isinstance(v, int) for v in values):
        raise ConfigError(f"{where}: int bounds must be whole numbers, got {values}")
    return Dimension(key, kind, (low, high))
