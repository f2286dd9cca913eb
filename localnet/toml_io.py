"""TOML text in and out for configs: `--set` overrides on the raw document, and a writer
for the small TOML subset a resolved config uses (the run directory's config.toml)."""

from __future__ import annotations

import tomllib
from typing import Any

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
    raw = _deepcopy(raw)
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


def _deepcopy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


def dump_toml(data: dict[str, Any]) -> str:
    """Write the small TOML subset our configs use (scalars, lists, tables, nested tables,
    arrays of tables); `tomllib.loads(dump_toml(d)) == d` for such data."""

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        raise TypeError(f"cannot write {type(v).__name__} to TOML")

    def table(prefix: str, body: dict[str, Any], header: str) -> list[str]:
        lines = [header] if header else []
        lines += [f"{k} = {scalar(v)}" for k, v in body.items() if not isinstance(v, dict) and not _is_table_array(v)]
        for k, v in body.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                lines += [""] + table(name, v, f"[{name}]")
            elif _is_table_array(v):
                for item in v:
                    lines += [""] + table(name, item, f"[[{name}]]")
        return lines

    return "\n".join(table("", data, "")) + "\n"


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
