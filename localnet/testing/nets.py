"""Tiny networks of any registered rule on any registered layer type, for the conformance suites.

`example_config(rule, kind)` puts two layers of type `kind` (its `Layer.example()` spec;
one if the type cannot follow itself) under a dense layer and a softmax output, or, for an
output type, under two dense layers; `example_network` builds it on a backend.
`registered(registry, name, cls)` registers a class for the duration of a `with` block
(test fixtures such as deliberately broken rules).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import Backend
from ..config import RunConfig, parse_config
from ..network import Network, build_network
from ..registry import LAYERS, RULES, Registry

CLASSES = 3
#: rule options that keep the example networks small (an option a rule does not have is not set)
SMALL_OPTIONS = {"aux_units": 3}


def layer_types() -> tuple[str, ...]:
    """Every registered layer type (importing the package registers the built-in ones)."""
    from .. import layers  # noqa: F401, PLC0415 - registers the built-in layers

    return LAYERS.names()


def rule_names() -> tuple[str, ...]:
    """Every registered learning rule."""
    from .. import rules  # noqa: F401, PLC0415 - registers the built-in rules

    return RULES.names()


def _table(kind: str, spec: Any) -> dict[str, Any]:
    return {"type": kind, **dataclasses.asdict(spec)}


def example_layers(kind: str) -> tuple[list[dict[str, Any]], tuple[int, ...]]:
    """([[layers]] tables, input unit shape) of a small network exercising layer type `kind`."""
    layer_types()
    spec, in_shape = LAYERS.get(kind).example()
    if LAYERS.get(kind).is_output:
        return [{"type": "dense", "units": 4}, {"type": "dense", "units": 4}, _table(kind, spec)], tuple(in_shape)
    tables = [_table(kind, spec)]
    out_shape = spec.estimate(tuple(in_shape))[0]
    try:
        spec.estimate(tuple(out_shape))
        tables.append(_table(kind, spec))  # two in a row, so one sends to the other
    except ValueError:
        pass
    return [*tables, {"type": "dense", "units": 4}, {"type": "softmax", "units": CLASSES}], tuple(in_shape)


def example_config(rule: str, kind: str = "dense", seed: int = 0, dtype: str = "float64",
                   options: dict[str, Any] | None = None, layers: list[dict[str, Any]] | None = None) -> RunConfig:
    """A config of rule `rule` (its defaults, kept small) on the example network of `kind`
    (or on the given [[layers]] tables)."""
    rule_names()
    fields = {f.name for f in dataclasses.fields(RULES.get(rule).Options)}
    rule_table = {"name": rule, **{k: v for k, v in SMALL_OPTIONS.items() if k in fields}, **(options or {})}
    tables = layers if layers is not None else example_layers(kind)[0]
    return parse_config({"name": f"{rule}_{kind}", "seed": seed, "dtype": dtype, "layers": tables,
                         "rule": rule_table})


def example_network(rule: str, kind: str, backend: Backend, seed: int = 0,
                    options: dict[str, Any] | None = None) -> tuple[Network, tuple[int, ...]]:
    """(network, input unit shape) of `example_config(rule, kind)` built on `backend`."""
    config = example_config(rule, kind, seed, np.dtype(backend.dtype).name, options)
    in_shape = example_layers(kind)[1]
    return build_network(config, backend, in_shape, config.layers[-1].units), in_shape


def example_batch(backend: Backend, in_shape: tuple[int, ...], batch: int, seed: int,
                  classes: int = CLASSES) -> tuple[Any, Any]:
    """(inputs (batch, *in_shape), one-hot labels (batch, classes)) on the backend."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, *in_shape)).astype(backend.dtype)
    onehot = np.eye(classes, dtype=backend.dtype)[rng.integers(0, classes, size=batch)]
    return backend.to_device(x), backend.to_device(onehot)


def train_step(net: Network, x: Any, onehot: Any, step: int = 0) -> None:
    """One step of every pass of the rule's epoch (e.g. TP-alternating: inverse, then target)."""
    for plan in net.rule.passes():
        net.step(step, x, onehot, plan)


@contextlib.contextmanager
def registered(registry: Registry[Any], name: str, cls: Any) -> Iterator[Any]:
    """Register `cls` as `name` in `registry` inside the block only."""
    registry.register(name)(cls)
    try:
        yield cls
    finally:
        registry.unregister(name)
