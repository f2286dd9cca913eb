"""Typed TOML tables: raw TOML values checked against dataclass annotations.

`build_dataclass` turns one TOML table into a frozen dataclass, recording every problem
(unknown key with the nearest valid one, wrong type, non-finite float, int outside TOML's
64-bit range, a failed `__post_init__` check) in a `Problems` list instead of stopping
at the first, so that a config reports all of them at once.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any

from .errors import ConfigError
from .registry import nearest


class Problems:
    """Collects config problems so they can be reported all at once.

    Each line is prefixed by where the value came from: `source` (the config file), or the
    option that set it when `origins` (dotted key -> e.g. "--set optim.lr=abc") holds the
    problem's key or a table above it; a problem about a whole table that an option changed
    part of names both ("FILE with --set ...").
    """

    def __init__(self, source: str = "config", origins: dict[str, str] | None = None) -> None:
        self.source = source
        self.origins = dict(origins or {})
        self.lines: list[str] = []
        self.keys: list[str | None] = []

    def add(self, line: str, key: str | None = None) -> None:
        """Record one problem; key: the dotted key (or table) it is about, when there is one."""
        self.lines.append(line)
        self.keys.append(key)

    def origin(self, key: str | None) -> str:
        """Where the value at `key` came from, as the message's prefix."""
        if key is None:
            return self.source
        for set_key, label in self.origins.items():
            if key == set_key or key.startswith(set_key + "."):
                return label
        inside = [label for set_key, label in self.origins.items() if set_key.startswith(key + ".")]
        return f"{self.source} with {', '.join(inside)}" if inside else self.source

    def raise_if_any(self, source: str | None = None) -> None:
        if self.lines:
            if source is not None:
                self.source = source
            raise ConfigError("\n".join(f"{self.origin(key)}: {line}" for line, key in zip(self.lines, self.keys)))


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


#: TOML integers are 64-bit signed; tomllib itself accepts any size.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def show(value: Any) -> str:
    """repr(value), but a huge int as its magnitude (str() of one is slow, or refused)."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        return f"{'-' if value < 0 else ''}2**{abs(value).bit_length() - 1} or more"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(value: Any, key: str, problems: Problems) -> Any:
    """Floats must be finite (TOML allows nan and inf), ints must fit in 64 bits."""
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(f"{key} must be a finite number, got {value!r}", key=key)
    elif isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        problems.add(f"{key} must be a 64-bit integer (TOML's range), got {show(value)}", key=key)
    return value


def _coerce(value: Any, tp: Any, key: str, problems: Problems) -> Any:
    """Check `value` against the annotation `tp`; ints pass as floats, lists as tuples."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            if option is type(None) and value is None:
                return None
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        if not INT_MIN <= value <= INT_MAX:
            problems.add(f"{key} must be a float (or an integer in TOML's 64-bit range), got {show(value)}", key=key)
        return float(value) if INT_MIN <= value <= INT_MAX else value
    if origin is tuple:
        (item,) = typing.get_args(tp)[:1]
        if not isinstance(value, list | tuple):
            problems.add(f"{key} must be a list, got {show(value)}", key=key)
            return value
        return tuple(_coerce(v, item, f"{key}.{i}", problems) for i, v in enumerate(value))
    if tp in (int, float, str, bool):
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return _check_number(value, key, problems)
        problems.add(f"{key} must be {_type_name(tp)}, got {type(value).__name__} {show(value)}", key=key)
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, key, problems)
    return value


def build_dataclass(cls: type, raw: Any, where: str, problems: Problems) -> Any:
    """Build the frozen dataclass `cls` from a TOML table, recording every problem."""
    if not isinstance(raw, dict):
        problems.add(f"[{where}] must be a table, got {type(raw).__name__}", key=where or None)
        return None
    before = len(problems.lines)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{where}.{key}" if where else key
        if key not in fields:
            problems.add(f"unknown key {path!r}{nearest(key, list(fields))}; valid keys: {', '.join(fields)}", key=path)
            continue
        values[key] = _coerce(value, hints[key], path, problems)
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            path = f"{where}.{name}" if where else name
            problems.add(f"missing required key {path!r}", key=path)
    if len(problems.lines) > before:
        return None
    try:
        return cls(**values)
    except (ValueError, TypeError, OverflowError) as err:  # __post_init__ checks of a spec
        # A check that names one key is about that key (whose value may come from --set);
        # one that names several is about the table.
        named = [name for name in fields if re.search(rf"\b{name}\b", str(err))]
        key = (f"{where}.{named[0]}" if where else named[0]) if len(named) == 1 else where or None
        problems.add(f"[{where}] {err}" if where else str(err), key=key)
        return None
