"""Cross-field checks of a parsed config: what no single TOML table can check alone.

`check_config` records problems (it never raises), so that `parse_config` reports them
all at once, each naming the key and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import LAYERS, RULES, nearest
from .typed import Problems

if TYPE_CHECKING:
    from .config import DataConfig, RunConfig


def check_config(config: RunConfig, problems: Problems) -> None:
    """Cross-field checks that need the whole config."""
    from .backend import BACKENDS, DTYPES  # noqa: PLC0415

    if config.backend not in BACKENDS:
        problems.add(f"backend {config.backend!r} is unknown{nearest(config.backend, BACKENDS)}; "
                     f"use one of {', '.join(BACKENDS)}", key="backend")
    if config.dtype not in DTYPES:
        problems.add(f"dtype {config.dtype!r} is not supported: use {' or '.join(map(repr, DTYPES))}", key="dtype")
    last = config.layers[-1] if config.layers else None
    if last is not None and not getattr(last, "is_output", False):
        where = config.layer_key(len(config.layers) - 1)
        problems.add(f"the last [[layers]] entry ({where}) must be an output layer (type = \"softmax\"), "
                     f"got {type(last).__name__}", key=f"{where}.type")
    for i, spec in enumerate(config.layers[:-1]):
        if getattr(spec, "is_output", False):
            where = config.layer_key(i)
            problems.add(f"{where} is an output layer but is not last; only the last layer may be \"softmax\"",
                         key=f"{where}.type")
    _check_rule_layers(config, problems)
    _check_data(config.data, problems)


def _check_rule_layers(config: RunConfig, problems: Problems) -> None:
    """Every layer's type must be one the rule declares it can run on (Rule.layer_types)."""
    if config.rule is None:
        return
    rule_name = RULES.name_of(config.rule, "Options")
    supported = RULES.get(rule_name).layer_types
    if supported is None:  # the rule runs on every registered layer type
        return
    named = set()
    for i, spec in enumerate(config.layers):
        kind = LAYERS.name_of(spec, "Spec")
        if kind not in supported and config.layer_key(i) not in named:  # once per [[layers]] table
            named.add(config.layer_key(i))
            problems.add(
                f"rule {rule_name!r} cannot run on {config.layer_key(i)} (type {kind!r}): it supports "
                f"{', '.join(sorted(supported))}; change the layer type or choose another rule"
            )


def _check_data(data: DataConfig, problems: Problems) -> None:
    """The dataset must be registered, and a batch must fit in the (limited) training set."""
    from .data.registry import DATASETS  # noqa: PLC0415 - data imports config-free modules only

    spec = DATASETS.get(data.dataset)
    if spec is None:
        known = sorted(DATASETS)
        problems.add(f"data.dataset {data.dataset!r} is unknown{nearest(data.dataset, known)}; "
                     f"use one of {', '.join(known)}", key="data.dataset")
        return
    if data.image_size and data.dataset != "imagenet":
        problems.add(f"data.image_size is for the streamed dataset 'imagenet', not {data.dataset!r}: "
                     "remove it", key="data.image_size")
    sizes = [n for n in (data.limit_train, spec.train_size) if n > 0]
    available = min(sizes) if sizes else 0
    if available and data.batch_size > available:
        where = "data.limit_train" if available == data.limit_train else f"the {spec.title} training set"
        problems.add(
            f"data.batch_size {data.batch_size} is larger than the {available:,} training examples "
            f"({where}): use a batch_size <= {available}", key="data.batch_size"
        )
