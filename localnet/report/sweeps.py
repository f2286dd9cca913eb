"""A sweep directory as report text: what was searched, how it was cut, the command that repeats
it, and its best trials with their sampled values."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from ..sweep.trials import read_table
from .tables import markdown_table


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
    trials, keys = read_table(sweep / "trials.csv")
    if not (sweep / "sweep.json").is_file() or not (sweep / "config.toml").is_file():
        return f"**`{sweep.name}`**: {len(trials)} trials (its sweep.json or config.toml is missing: no plan to show).\n"
    plan = json.loads((sweep / "sweep.json").read_text(encoding="utf-8"))["plan"]
    config = tomllib.loads((sweep / "config.toml").read_text(encoding="utf-8"))
    searched = (sweep / "space.toml").is_file()
    rungs = plan.get("rungs", [])
    cut = "; ".join(f"the best {r['keep']} after {r['after']} epochs continue" for r in rungs) or "no early kill"
    done = [t for t in trials if t.best_test_error is not None]
    lines = [f"**`{sweep.name}`**: {len(trials)} trials of `{config.get('name', '?')}` "
             f"({'random search' if searched else 'grid'}), {plan['epochs']} epochs; {cut}. "
             f"{len(done)} trials have results.", "",
             f"`{command(sweep, plan, len(trials), searched)}`", ""]
    varying = [k for k in keys if len({t.values.get(k, "") for t in trials}) > 1]
    ranked = sorted(done, key=lambda t: (t.best_test_error, t.name))[:top]
    table = [[t.name, str(t.epochs), f"{t.best_test_error:.2f} ({t.best_epoch})", f"{t.final_test_error:.2f}",
              *(_short(t.values.get(k, "")) for k in varying)] for t in ranked]
    lines.append(markdown_table(["trial", "epochs", "best test err % (epoch)", "final test err %", *varying], table))
    return "\n".join(lines) + "\n"
