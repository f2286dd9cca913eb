"""TOML text in and out for configs: `--set` overrides on the raw document, and the writer
of a resolved config (the run directory's config.toml)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import tomli_w

from .errors import ConfigError


def parse_value(text: str) -> Any:
    """Parse a --set value as a TOML literal (3e-4, true, [1, 2], "x"); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.sub=value` overrides (the CLI's --set) to a raw TOML dict, in order.

    A numeric path element indexes a list, e.g. `layers.0.units=128`.
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} is not key=value: write e.g. --set optim.lr=3e-4")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = raw
        for part in parts[:-1]:
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"--set {key}: {part!r} is not an index into a list of {len(node)}")
                node = node[int(part)]
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict | list):
                    raise ConfigError(f"--set {key}: {part!r} is a value, not a section")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"--set {key}: {last!r} is not an index into a list of {len(node)}")
            node[int(last)] = parse_value(text.strip())
        else:
            node[last] = parse_value(text.strip())
    return raw


def dump_toml(data: dict[str, Any]) -> str:
    """TOML text for a config-like dict (scalars, lists, tables, arrays of tables), written by
    tomli-w: `tomllib.loads(dump_toml(d)) == d`. TypeError for a value TOML cannot hold (None)."""
    return tomli_w.dumps(data)
