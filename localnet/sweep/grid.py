"""Grid mode of a sweep: named variants of `--set` overrides, crossed with seeds."""

from __future__ import annotations

from ..errors import ConfigError


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """"NAME: k=v, k=v" -> (NAME, {k: v}); commas inside quotes or brackets are kept."""
    if ":" not in text:
        raise ConfigError(f"--variant {text!r} needs a name: write e.g. --variant \"b50: data.batch_size=50\"")
    name, rest = (part.strip() for part in text.split(":", 1))
    if not name or any(c in name for c in "/\\ "):
        raise ConfigError(f"--variant {text!r}: the name must be a word (it names run directories)")
    items, depth, quote, current = [], 0, "", ""
    for char in rest:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        items.append(current.strip())
    values = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--variant {name}: {item!r} is not key=value")
        key, value = item.split("=", 1)
        values[key.strip()] = value.strip()
    return name, values


def parse_seeds(text: str) -> list[int]:
    """"0,1,2" -> [0, 1, 2]."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: write whole numbers separated by commas, e.g. 0,1,2") from None
    if not seeds:
        raise ConfigError("--seeds is empty: write e.g. --seeds 0,1,2")
    return seeds
