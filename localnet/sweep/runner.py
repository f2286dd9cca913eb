"""What an execution backend gets from a sweep, and how the CLI finds one.

A backend runs `TrialJob`s: each is one `localnet run` process that starts a trial's run
directory or resumes it from its newest checkpoint, then trains it to `epochs`. Backends live
outside the library (runners/execution/ ships `local` and `ray`) and register under the
entry-point group `localnet.runners` (pyproject.toml), so the library never imports them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError

GROUP = "localnet.runners"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class TrialJob:
    """One trial's `localnet run` to `epochs` in total. config: the sweep's base config;
    overrides: its `--set` values; threads: BLAS threads (the CPUs the trial may use)."""

    name: str
    run_dir: Path
    config: Path
    overrides: tuple[str, ...]
    seed: int
    epochs: int
    threads: int = 1
    gpus: float = 0.0
    data_dir: str | None = None

    def resumable(self) -> bool:
        """Whether the run directory holds a checkpoint to continue from."""
        return (self.run_dir / "config.toml").is_file() and any((self.run_dir / "checkpoints").glob("ckpt-*.npz"))

    def command(self) -> list[str]:
        """The command line, decided when it runs: a run with a checkpoint resumes (so a retried
        or restarted trial loses at most one checkpoint interval), anything else starts afresh."""
        tail = ["--epochs", str(self.epochs), "--threads", str(self.threads), "--no-progress"]
        tail += ["--data-dir", self.data_dir] if self.data_dir else []
        if self.resumable():
            return [sys.executable, "-m", "localnet.cli", "run", "--resume", str(self.run_dir), *tail]
        sets = [arg for item in self.overrides for arg in ("--set", item)]
        return [sys.executable, "-m", "localnet.cli", "run", str(self.config), "--seed", str(self.seed),
                "--out", str(self.run_dir), "--force", *sets, *tail]

    def env(self) -> dict[str, str]:
        """The process environment. `--threads` (in `command`) pins BLAS at run time, so trials
        sharing a node never oversubscribe it; the variables below only stop the process's own
        imports from starting a full pool of threads before that applies."""
        return {**os.environ, **{var: str(self.threads) for var in THREAD_VARS}}


class Runner(Protocol):
    """An execution backend: runs jobs, calling `done(job, exit_code)` as each one ends."""

    def run(self, jobs: Sequence[TrialJob], done: Callable[[TrialJob, int], None]) -> None: ...


def runner_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def find_runner(name: str, **options: Any) -> Runner:
    """The backend registered as `name`, built with `options` (e.g. jobs, address)."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = ", ".join(runner_names()) or "none (reinstall localnet: pip install -e .)"
        raise ConfigError(f"unknown runner {name!r}: choose one of {known}")
    factory = found[0].load()
    return factory(**options)
