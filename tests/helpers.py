"""Small builders shared by tests: configs for tiny networks, random batches."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def random_batch(seed: int, batch: int, inputs: int, classes: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x (batch, inputs), labels (batch,), onehot (batch, classes)) on the host."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, inputs)).astype(dtype)
    labels = rng.integers(0, classes, size=batch)
    return x, labels, np.eye(classes, dtype=dtype)[labels]
