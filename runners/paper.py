"""The published numbers: Bartunov et al. 2018, Table 1 (train / test error %, best of 500 epochs).

Transcribed from ../shared/reference/paper.md section 4 (Table 1(a) MNIST, confirmed cell by
cell by a second source; Table 1(b) CIFAR-10, rebuilt from a garbled text copy, so verify
against the PDF where exactness matters). `published(config)` finds a run's row from its
resolved config (dataset, FC or LC network, rule and schedule).
"""

from __future__ import annotations

from typing import Any

# method -> ((FC train, FC test), (LC train, LC test)); None where the paper has no entry.
TABLE1: dict[str, dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]] = {
    "mnist": {
        "dtp_parallel": ((0.44, 2.86), (0.00, 1.52)),
        "dtp_alternating": ((0.00, 1.83), (0.00, 1.46)),
        "sdtp_parallel": ((1.14, 3.52), (0.00, 1.98)),
        "sdtp_alternating": ((0.00, 2.28), (0.00, 1.90)),
        "aosdtp_parallel": ((0.96, 2.93), (0.00, 1.92)),
        "aosdtp_alternating": ((0.00, 1.86), (0.00, 1.91)),
        "fa": ((0.00, 1.85), (0.00, 1.26)),
        "dfa": ((0.85, 2.75), (0.23, 2.05)),
        "bp": ((0.00, 1.48), (0.00, 1.17)),
        "bp_convnet": (None, (0.00, 1.01)),
    },
    "cifar10": {
        "dtp_parallel": ((59.45, 59.14), (28.69, 39.47)),
        "dtp_alternating": ((30.41, 42.32), (28.54, 39.47)),
        "sdtp_parallel": ((51.48, 55.32), (43.00, 46.63)),
        "sdtp_alternating": ((48.65, 54.27), (40.40, 45.66)),
        "aosdtp_parallel": ((4.28, 47.11), (32.67, 40.05)),
        "aosdtp_alternating": ((0.00, 45.40), (34.11, 40.21)),
        "fa": ((25.62, 41.97), (17.46, 37.44)),
        "dfa": ((33.35, 47.80), (32.74, 44.41)),
        "bp": ((28.97, 41.32), (0.83, 32.41)),
        "bp_convnet": (None, (1.39, 31.87)),
    },
}

SPATIAL = ("locally_connected", "conv")


def method_of(config: dict[str, Any]) -> str:
    """The Table 1 row name of a resolved config: bp, fa, dfa, bp_convnet or RULE_SCHEDULE."""
    rule = config["rule"]["name"]
    types = {layer["type"] for layer in config["layers"]}
    if rule == "bp" and "conv" in types:
        return "bp_convnet"
    schedule = config["rule"].get("schedule")
    return f"{rule}_{schedule}" if schedule else rule


def published(config: dict[str, Any]) -> tuple[float, float] | None:
    """(train, test) error % the paper reports for this config's experiment, or None (vanilla
    TP, a dataset or network the paper does not run)."""
    rows = TABLE1.get(config["data"]["dataset"], {})
    entry = rows.get(method_of(config))
    if entry is None:
        return None
    lc = any(layer["type"] in SPATIAL for layer in config["layers"])
    return entry[1] if lc else entry[0]
