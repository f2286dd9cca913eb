"""The paper's published numbers (package data paper.toml, with its source) and how a run's
resolved config finds its cell: dataset, network (fc or lc) and method."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

#: the row order of the paper's tables
METHODS = ("dtp_parallel", "dtp_alternating", "sdtp_parallel", "sdtp_alternating", "aosdtp_parallel",
           "aosdtp_alternating", "fa", "dfa", "bp", "bp_convnet")
LABELS = {"dtp_parallel": "DTP, parallel", "dtp_alternating": "DTP, alternating", "sdtp_parallel": "SDTP, parallel",
          "sdtp_alternating": "SDTP, alternating", "aosdtp_parallel": "AO-SDTP, parallel",
          "aosdtp_alternating": "AO-SDTP, alternating", "fa": "FA", "dfa": "DFA", "bp": "BP",
          "bp_convnet": "BP ConvNet"}
SPATIAL = ("locally_connected", "conv")


@dataclass(frozen=True)
class PaperTable:
    """One published table: key (table1a, ...), title, dataset, and cells[net][method] ->
    (train, test) error % (Table 2: (top-1, top-5))."""

    key: str
    title: str
    dataset: str
    cells: dict[str, dict[str, tuple[float, float]]]


@cache
def tables() -> tuple[PaperTable, ...]:
    raw = tomllib.loads(files("localnet.report").joinpath("paper.toml").read_text(encoding="utf-8"))
    out = []
    for key, body in raw.items():
        if key == "source":
            continue
        cells = {net: {m: (float(v[0]), float(v[1])) for m, v in body[net].items()} for net in ("fc", "lc") if net in body}
        out.append(PaperTable(key, body["title"], body["dataset"], cells))
    return tuple(out)


def source() -> str:
    raw = tomllib.loads(files("localnet.report").joinpath("paper.toml").read_text(encoding="utf-8"))
    return f"{raw['source']['citation']}; {raw['source']['note']}"


def method_of(config: dict[str, Any]) -> str:
    """The table row of a resolved config: bp, fa, dfa, bp_convnet or RULE_SCHEDULE (any other
    rule, e.g. sign or tp, is its own name)."""
    rule = config["rule"]["name"]
    if rule == "bp" and any(layer["type"] == "conv" for layer in config["layers"]):
        return "bp_convnet"
    schedule = config["rule"].get("schedule")
    return f"{rule}_{schedule}" if schedule else rule


def network_of(config: dict[str, Any]) -> str:
    return "lc" if any(layer["type"] in SPATIAL for layer in config["layers"]) else "fc"


def table_for(dataset: str) -> PaperTable | None:
    return next((t for t in tables() if t.dataset == dataset), None)


def published(config: dict[str, Any]) -> tuple[float, float] | None:
    """The paper's (train, test) error % for this config's experiment, or None."""
    table = table_for(config["data"]["dataset"])
    if table is None:
        return None
    return table.cells.get(network_of(config), {}).get(method_of(config))
