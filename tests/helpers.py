"""Small builders shared by tests: configs for tiny networks, random batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from localnet.config import parse_config


def tiny_config(rule: str, hidden: list[int], classes: int, activation: str = "tanh",
                rule_options: dict[str, Any] | None = None, **top: Any) -> Any:
    raw = {
        "name": f"tiny_{rule}",
        "layers": [{"type": "dense", "units": u, "activation": activation} for u in hidden]
        + [{"type": "softmax", "units": classes}],
        "rule": {"name": rule, **(rule_options or {})},
        **top,
    }
    return parse_config(raw)


def random_batch(seed: int, batch: int, inputs: int, classes: int,
                 dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x (batch, inputs), labels (batch,), onehot (batch, classes)) on the host."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, inputs)).astype(dtype)
    labels = rng.integers(0, classes, size=batch)
    return x, labels, np.eye(classes, dtype=dtype)[labels]


def small_toml(*, name: str = "small", seed: int | None = None, lr: float | None = None, epochs: int = 1,
               train: tuple[str, ...] = ()) -> str:
    """The TOML text of the run-level tests' net: dense 6 -> softmax 10, FA, batch 8 (28x28
    synthetic MNIST). `lr` adds an [optim] table; `train` adds lines to [train]."""
    lines = [f'name = "{name}"', *([f"seed = {seed}"] if seed is not None else []),
             "[data]", "batch_size = 8",
             "[[layers]]", 'type = "dense"', "units = 6",
             "[[layers]]", 'type = "softmax"', "units = 10",
             "[rule]", 'name = "fa"',
             *(["[optim]", f"lr = {lr}"] if lr is not None else []),
             "[train]", f"epochs = {epochs}", *train]
    return "\n".join(lines) + "\n"


def one_line(err: pytest.ExceptionInfo, *fragments: str) -> str:
    """The message of a raised error, checked to be one line holding every fragment."""
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message
