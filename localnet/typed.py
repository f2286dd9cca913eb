"""Typed TOML tables: raw TOML values checked against dataclass annotations.

`build_dataclass` turns one TOML table into a frozen dataclass, recording every problem
(unknown key with the nearest valid one, wrong type, non-finite float, int outside TOML's
64-bit range, a failed `__post_init__` check) in a `Problems` list instead of stopping
at the first, so that a config reports all of them at once.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from .errors import ConfigError
from .registry import nearest


class Problems:
    """Collects config problems so they can be reported all at once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def raise_if_any(self, source: str) -> None:
        if self.lines:
            raise ConfigError("\n".join(f"{source}: {line}" for line in self.lines))


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
        problems.add(f"{key} must be a finite number, got {value!r}")
    elif isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        problems.add(f"{key} must be a 64-bit integer (TOML's range), got {show(value)}")
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
            problems.add(f"{key} must be a float (or an integer in TOML's 64-bit range), got {show(value)}")
        return float(value) if INT_MIN <= value <= INT_MAX else value
    if origin is tuple:
        (item,) = typing.get_args(tp)[:1]
        if not isinstance(value, list | tuple):
            problems.add(f"{key} must be a list, got {show(value)}")
            return value
        return tuple(_coerce(v, item, f"{key}[{i}]", problems) for i, v in enumerate(value))
    if tp in (int, float, str, bool):
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return _check_number(value, key, problems)
        problems.add(f"{key} must be {_type_name(tp)}, got {type(value).__name__} {show(value)}")
        return value
    if dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, key, problems)
    return value


def build_dataclass(cls: type, raw: Any, where: str, problems: Problems) -> Any:
    """Build the frozen dataclass `cls` from a TOML table, recording every problem."""
    if not isinstance(raw, dict):
        problems.add(f"[{where}] must be a table, got {type(raw).__name__}")
        return None
    before = len(problems.lines)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{where}.{key}" if where else key
        if key not in fields:
            problems.add(f"unknown key {path!r}{nearest(key, list(fields))}; valid keys: {', '.join(fields)}")
            continue
        values[key] = _coerce(value, hints[key], path, problems)
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.add(f"missing required key {(f'{where}.{name}' if where else name)!r}")
    if len(problems.lines) > before:
        return None
    try:
        return cls(**values)
    except (ValueError, TypeError, OverflowError) as err:  # __post_init__ checks of a spec
        problems.add(f"[{where}] {err}" if where else str(err))
        return None
