"""A sweep end to end: lay out the sweep directory, run the trials on a backend, early-kill.

The sweep directory holds the space (space.toml), the resolved base config (config.toml),
the sweep's own settings (sweep.json), the trials table (trials.csv) and one run directory
per trial under runs/. The protocol is the paper's: every trial trains `after` epochs, only
the best `keep` continue (a rung); with several rungs this is successive halving. Ranking
uses each trial's best test error so far, ties broken by trial index, so the same results
always pick the same survivors, on any backend.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import ConfigError
from ..seeding import rng_for
from ..writes import make_dirs, write_text_atomic
from .runner import Runner, TrialJob
from .space import Space, toml_literal
from .trials import Trial, read_table, write_table

LOCK = "sweep.lock"


@dataclass(frozen=True)
class Rung:
    """After `after` epochs, the best `keep` trials continue; the rest stop."""

    after: int
    keep: int


@dataclass(frozen=True)
class SweepPlan:
    """Everything that defines a sweep's results (saved as sweep.json and checked on rerun)."""

    epochs: int
    rungs: tuple[Rung, ...] = ()
    seed: int = 0
    threads: int = 1
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"a sweep needs epochs >= 1, got {self.epochs}")
        last = 0
        for rung in self.rungs:
            if not last < rung.after < self.epochs:
                raise ConfigError(f"--after {rung.after} must be between 1 and the trials' epochs - 1 "
                                  f"({self.epochs - 1}), increasing from rung to rung")
            if rung.keep < 1:
                raise ConfigError(f"--keep {rung.keep}: keep at least 1 trial")
            last = rung.after


def halving_rungs(trials: int, first: int, eta: int, epochs: int) -> tuple[Rung, ...]:
    """Successive halving: after `first`, first*eta, ... epochs keep 1/eta of the trials."""
    if eta < 2:
        raise ConfigError(f"--eta {eta}: successive halving needs eta >= 2")
    rungs, after, keep = [], first, trials
    while after < epochs and keep > 1:
        keep = max(1, math.ceil(keep / eta))
        rungs.append(Rung(after, keep))
        after *= eta
    return tuple(rungs)


def random_trials(space: Space, seed: int, count: int) -> list[Trial]:
    """`count` trials of a random search, trial i's values and run seed drawn from (seed, i)."""
    trials = []
    for index in range(count):
        values = {key: toml_literal(value) for key, value in space.sample(seed, index).items()}
        run_seed = int(rng_for(seed, "sweep", "run-seed", str(index)).integers(2**31))
        trials.append(Trial(index, f"trial{index:03d}", run_seed, values))
    return trials


def grid_trials(variants: Sequence[tuple[str, dict[str, str]]], seeds: Sequence[int]) -> list[Trial]:
    """One trial per (variant, seed), named NAME-sSEED (the grid mode: --variant, --seeds)."""
    return [Trial(i, f"{name}-s{seed}", seed, dict(values))
            for i, ((name, values), seed) in enumerate((v, s) for v in variants for s in seeds)]


class Sweep:
    """A sweep directory and its trials. Build with `Sweep.open`, then `run(runner)`."""

    def __init__(self, out: Path, plan: SweepPlan, trials: list[Trial], keys: list[str],
                 data_dir: str | None = None, echo: Callable[[str], None] = print) -> None:
        self.out, self.plan, self.trials, self.keys = out, plan, trials, keys
        self.data_dir, self.echo = data_dir, echo

    @classmethod
    def open(cls, out: Path, config_text: str, plan: SweepPlan, trials: list[Trial], space_text: str | None = None,
             data_dir: str | None = None, echo: Callable[[str], None] = print) -> Sweep:
        """Create the sweep directory, or reopen it: a rerun must describe the same sweep (same
        config, space, plan and trials), and keeps every result already there."""
        refuse_foreign(out, config_text)
        make_dirs(out)
        keys = list(dict.fromkeys(k for t in trials for k in t.values))
        settings = {"plan": asdict(plan), "trials": [[t.name, t.seed, t.values] for t in trials]}
        saved = out / "sweep.json"
        if saved.is_file():
            old = json.loads(saved.read_text(encoding="utf-8"))
            same = old == json.loads(json.dumps(settings))
            if not same or (out / "config.toml").read_text(encoding="utf-8") != config_text:
                raise ConfigError(f"{out} holds a different sweep (its config, space, trials or plan differ): "
                                  "rerun with the same arguments to resume it, or choose another --out")
            trials = [_restore(t, old_t) for t, old_t in zip(trials, read_table(out / "trials.csv")[0])]
        else:
            write_text_atomic(out / "config.toml", config_text)
            if space_text is not None:
                write_text_atomic(out / "space.toml", space_text)
        sweep = cls(out, plan, trials, keys, data_dir, echo)
        sweep.save()
        if not saved.is_file():  # last: it marks the sweep as laid out (trials.csv is there)
            write_text_atomic(saved, json.dumps(settings, indent=1) + "\n")
        return sweep

    def run_dir(self, trial: Trial) -> Path:
        return self.out / "runs" / trial.name

    def save(self) -> None:
        write_table(self.out / "trials.csv", self.trials, self.keys, self.out / "runs")

    def run(self, runner: Runner) -> list[Trial]:
        """Train every live trial rung by rung, then the survivors to the full length."""
        for rung in self.plan.rungs:
            self._train_to(runner, rung.after)
            self._cut(rung)
        self._train_to(runner, self.plan.epochs)
        return self.trials

    def _train_to(self, runner: Runner, epochs: int) -> None:
        self.trials = [t.with_results(self.run_dir(t)) if t.status != "pending" else t for t in self.trials]
        # A trial that finished all its epochs while the table was not saved (a kill between its
        # exit and the save) is done, not "running" for ever.
        self.trials = [replace(t, status="done") if t.status == "running" and t.epochs >= self.plan.epochs
                       and (self.run_dir(t) / "summary.json").is_file() else t for t in self.trials]
        live = [t for t in self.trials if t.status not in ("stopped", "failed") and t.epochs < epochs]
        jobs = [TrialJob(t.name, self.run_dir(t), self.out / "config.toml", t.overrides, t.seed, epochs,
                         self.plan.threads, self.plan.gpus, self.data_dir) for t in live]
        for t in live:
            self._set(replace(t, status="running"))
        self.save()
        if jobs:
            self.echo(f"training {len(jobs)} trial(s) to {epochs} epoch(s)")
            runner.run(jobs, self._done)

    def _done(self, job: TrialJob, code: int) -> None:
        trial = next(t for t in self.trials if t.name == job.name).with_results(job.run_dir)
        if code != 0:
            trial = replace(trial, status="failed")
            self.echo(f"FAILED {job.name} (exit {code}): see {job.run_dir}.log")
        else:
            trial = replace(trial, status="done" if trial.epochs >= self.plan.epochs else "running")
            self.echo(f"{job.name}: {trial.epochs} epoch(s), best test error {trial.best_test_error:.2f}%")
        self._set(trial)
        self.save()

    def _cut(self, rung: Rung) -> None:
        live = [t for t in self.trials if t.status in ("running", "done")]  # done: a rerun of a finished sweep
        ranked = sorted(live, key=lambda t: (t.best_within(self.run_dir(t), rung.after), t.index))
        keep = {t.name for t in ranked[:rung.keep]}
        for t in live:
            if t.name not in keep:
                self._set(replace(t, status="stopped"))
        self.save()
        self.echo(f"after {rung.after} epoch(s): continuing {', '.join(sorted(keep)) or 'none'}; "
                  f"stopped {len(live) - len(keep)}")

    def _set(self, trial: Trial) -> None:
        self.trials = [trial if t.name == trial.name else t for t in self.trials]


#: what a sweep writes in its folder before sweep.json (a first start cut short leaves only these)
_WRITTEN = ("config.toml", "space.toml", "trials.csv", "sweep.json", "report.md")  # each through ".NAME.tmp"
OWN = {"config.toml", "space.toml", "trials.csv", "runs", LOCK, *(f".{name}.tmp" for name in _WRITTEN)}


def refuse_foreign(out: Path, config_text: str) -> None:
    """ConfigError if `out` holds files that are not this sweep's: a sweep writes config.toml,
    report.md and trials.csv there and must not replace someone else's (or a run's)."""
    if not out.is_dir() or (out / "sweep.json").is_file():
        return
    foreign = sorted(p.name for p in out.iterdir() if p.name not in OWN)
    if not foreign and (out / "config.toml").is_file() and (out / "config.toml").read_text(encoding="utf-8") != config_text:
        foreign = ["config.toml"]
    if foreign:
        raise ConfigError(f"{out} holds files that are not a localnet sweep (e.g. {foreign[0]}): nothing was "
                          "changed; choose a new or empty --out (or the --out of the sweep to resume)")


def _restore(fresh: Trial, saved: Trial) -> Trial:
    """A reopened trial keeps its saved status, except a failed one, which is tried again."""
    return replace(fresh, status="pending" if saved.status == "failed" else saved.status)
