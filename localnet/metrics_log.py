"""Reading a run's metrics.jsonl, which may be damaged: a truncated last line (a run killed
mid-write on a file system without localnet's append), junk lines, values of the wrong type.

`read_rows` keeps the rows that are JSON objects with an integer `epoch` and a numeric
`test_error` (what every reader needs) and reports the rest in one warning line, so that
`localnet report`, `plot` and sweeps read what is readable instead of failing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the other columns readers compute with: a number, or null (NaN as saved)
NUMERIC = ("train_loss", "train_error", "test_loss", "seconds", "examples_per_second", "train_top5_error",
           "test_top5_error")


def _problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    epoch, error = row.get("epoch"), row.get("test_error")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        return "no integer epoch >= 1"
    if not isinstance(error, (int, float)) or isinstance(error, bool) or not math.isfinite(error):
        return "no numeric test_error"
    for key in NUMERIC:
        value = row.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            return f"{key} is not a number"
    return None


def read_rows(path: Path, warn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The readable rows of the metrics log at `path` ([] if it is missing); `warn` gets one
    line naming the lines skipped and why."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    rows, skipped = [], []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            torn = number == len(lines) and not text.endswith("\n")
            skipped.append((number, "not JSON (a truncated last line)" if torn else "not JSON"))
            continue
        if (why := _problem(row)) is not None:
            skipped.append((number, why))
            continue
        rows.append(row)
    if skipped and warn is not None:
        first = "; ".join(f"line {n}: {why}" for n, why in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        warn(f"warning: {path}: skipped {len(skipped)} unreadable line(s) ({first}{more})")
    return rows
