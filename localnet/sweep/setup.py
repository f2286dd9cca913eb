"""From `localnet sweep`'s arguments to a running Sweep: check everything, then start."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import config_to_dict, dump_toml, load_config
from ..errors import ConfigError
from ..lock import RunLock
from ..writes import make_dirs, write_text_atomic
from .driver import LOCK, Rung, Sweep, SweepPlan, grid_trials, halving_rungs, random_trials, refuse_foreign
from .grid import parse_seeds, parse_variant
from .report import trials_markdown
from .runner import find_runner
from .space import load_space


def early_kill(trials: int, keep: int | None, after: int | None, eta: int | None, epochs: int) -> tuple[Rung, ...]:
    """The rungs for --keep/--after (one cut) or --eta/--after (successive halving)."""
    if keep is not None and eta is not None:
        raise ConfigError("--keep (one cut) and --eta (successive halving) exclude each other: choose one")
    if (keep is not None or eta is not None) and after is None:
        raise ConfigError("--keep and --eta need --after EPOCHS: the epochs every trial trains before the cut")
    if after is not None and keep is None and eta is None:
        raise ConfigError("--after needs --keep M (the best M continue) or --eta N (successive halving)")
    if keep is not None and after is not None:
        return (Rung(after, keep),)
    if eta is not None and after is not None:
        return halving_rungs(trials, after, eta, epochs)
    return ()


def start_sweep(config: str, space_path: str | None, count: int, variants: Sequence[str], seeds: str | None,
                sets: Sequence[str], epochs: int | None, keep: int | None, after: int | None, eta: int | None,
                runner: str, address: str | None, jobs: int | None, threads: int, seed: int,
                data_dir: str | None, out: Path, echo: Callable[[str], None]) -> None:
    """Check every argument (before anything is written), open the sweep, run it, report."""
    base = load_config(config, list(sets))
    epochs = epochs or base.train.epochs
    space_text = None
    if space_path:
        space = load_space(space_path)
        trials = random_trials(space, seed, count)
        space_text = Path(space_path).read_text(encoding="utf-8")
    else:
        named = [parse_variant(text) for text in variants] or [("shipped", {})]
        if len({name for name, _ in named}) != len(named):
            raise ConfigError("two --variant share a name: give each its own (the name names run directories)")
        trials = grid_trials(named, parse_seeds(seeds or "0"))
    for trial in trials:  # every trial's overrides must give a valid config before anything runs
        try:
            load_config(config, [*sets, *trial.overrides])
        except ConfigError as err:
            raise ConfigError(f"trial {trial.name}: {err}") from None
    plan = SweepPlan(epochs, early_kill(len(trials), keep, after, eta, epochs), seed, threads,
                     1.0 if base.backend == "cupy" else 0.0)
    backend = find_runner(runner, jobs=jobs, address=address)
    text = dump_toml(config_to_dict(base))
    refuse_foreign(out, text)  # before anything is written
    make_dirs(out)
    with RunLock(out, LOCK, "sweep directory"):  # held while the sweep runs: a second one on this --out is refused
        opened = Sweep.open(out, text, plan, trials, space_text, data_dir, echo)
        echo(f"sweep {out}: {len(trials)} trial(s) of {base.name}, {epochs} epoch(s), runner {runner}, "
             f"{threads} BLAS thread(s) per trial (python {sys.version_info.major}.{sys.version_info.minor})")
        finished = opened.run(backend)
        report = trials_markdown(finished, opened.keys)
        write_text_atomic(out / "report.md", report + "\n")
    echo(report)
