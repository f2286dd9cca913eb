"""A sweep directory as report text: what was searched, how it was cut, the command that repeats
it, and its best trials with their sampled values."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path
from typing import Any

from .tables import _md

#: trials.csv columns before the sampled values
FIXED = ("trial", "name", "seed", "status", "epochs", "best_test_error", "best_epoch", "final_test_error", "run_dir")


def read_trials(sweep: Path) -> tuple[list[dict[str, str]], list[str]]:
    """(the rows of SWEEP/trials.csv, the sampled keys in column order)."""
    with (sweep / "trials.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        keys = [k for k in (reader.fieldnames or []) if k not in FIXED]
    return rows, keys


def command(sweep: Path, plan: dict[str, Any], trials: int, searched: bool) -> str:
    """The `localnet sweep` command that repeats the sweep from its own saved files."""
    parts = [f"localnet sweep {sweep}/config.toml"]
    if searched:
        parts += [f"--space {sweep}/space.toml", f"--trials {trials}"]
    rungs = plan.get("rungs", [])
    if len(rungs) == 1:
        parts += [f"--keep {rungs[0]['keep']}", f"--after {rungs[0]['after']}"]
    elif rungs:  # successive halving: --after is the first rung, --eta its ratio
        first, second = rungs[0], rungs[1]
        parts += [f"--after {first['after']}", f"--eta {second['after'] // first['after']}"]
    parts += [f"--epochs {plan['epochs']}", f"--seed {plan.get('seed', 0)}", f"--threads {plan.get('threads', 1)}",
              f"--out {sweep.name}"]
    return " ".join(parts)


def _short(value: str) -> str:
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value


def describe(sweep: Path, top: int = 5) -> str:
    """Markdown: the sweep's config, its early-kill plan, the command, and its `top` trials by
    best test error (only the sampled keys that vary between trials)."""
    rows, keys = read_trials(sweep)
    if not (sweep / "sweep.json").is_file() or not (sweep / "config.toml").is_file():
        return f"**`{sweep.name}`**: {len(rows)} trials (its sweep.json or config.toml is missing: no plan to show).\n"
    plan = json.loads((sweep / "sweep.json").read_text(encoding="utf-8"))["plan"]
    config = tomllib.loads((sweep / "config.toml").read_text(encoding="utf-8"))
    searched = (sweep / "space.toml").is_file()
    rungs = plan.get("rungs", [])
    cut = "; ".join(f"the best {r['keep']} after {r['after']} epochs continue" for r in rungs) or "no early kill"
    done = [r for r in rows if r["best_test_error"]]
    lines = [f"**`{sweep.name}`**: {len(rows)} trials of `{config.get('name', '?')}` "
             f"({'random search' if searched else 'grid'}), {plan['epochs']} epochs; {cut}. "
             f"{len(done)} trials have results.", "",
             f"`{command(sweep, plan, len(rows), searched)}`", ""]
    varying = [k for k in keys if len({r[k] for r in rows}) > 1]
    ranked = sorted(done, key=lambda r: (float(r["best_test_error"]), r["name"]))[:top]
    table = [[r["name"], r["epochs"], f"{float(r['best_test_error']):.2f} ({r['best_epoch']})",
              f"{float(r['final_test_error']):.2f}", *(_short(r[k]) for k in varying)] for r in ranked]
    lines.append(_md(["trial", "epochs", "best test err % (epoch)", "final test err %", *varying], table))
    return "\n".join(lines) + "\n"
