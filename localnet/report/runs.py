"""Finding and reading finished runs: run directories, sweep directories, or folders of either."""

from __future__ import annotations

import contextlib
import json
import statistics
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from ..config import config_to_dict, parse_config
from ..errors import ConfigError, LocalnetError
from ..metrics_log import read_rows


def _warn(line: str) -> None:
    click.echo(line, err=True)


@dataclass(frozen=True)
class Run:
    """A run directory's resolved config and per-epoch metrics. sweep: the sweep directory it
    is a trial of (None for a plain run)."""

    path: Path
    config: dict[str, Any]
    rows: tuple[dict[str, Any], ...]
    sweep: Path | None = None

    @property
    def best(self) -> dict[str, Any]:
        """The epoch with the lowest test error (the paper's "best of" convention)."""
        return min(self.rows, key=lambda row: row["test_error"])

    @property
    def label(self) -> str:
        return f"{self.sweep.name}/{self.path.name}" if self.sweep else self.path.name

    @property
    def seconds_per_epoch(self) -> float:
        return statistics.fmean(row["seconds"] for row in self.rows)

    def within(self, epochs: int | None) -> Run:
        """This run cut to its first `epochs` epochs (None: all)."""
        return self if epochs is None else replace(self, rows=self.rows[:epochs])


def is_run(path: Path) -> bool:
    return (path / "metrics.jsonl").is_file() and (path / "config.toml").is_file()


def is_sweep(path: Path) -> bool:
    return (path / "trials.csv").is_file() and (path / "runs").is_dir()


def load_run(path: Path, sweep: Path | None = None, warn: Callable[[str], None] | None = _warn) -> Run:
    """The run in `path`; damaged metrics lines are skipped (one warning), and a config.toml
    that does not parse leaves the run out (LocalnetError, which `find_runs` turns into a
    warning)."""
    rows = read_rows(path / "metrics.jsonl", warn)
    try:
        config = tomllib.loads((path / "config.toml").read_text(encoding="utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as err:
        raise LocalnetError(f"{path / 'config.toml'} is not valid TOML ({err})") from None
    return Run(path, config, tuple(rows), sweep)


def find_runs(paths: list[Path], within: int | None = None) -> list[Run]:
    """Every run with at least one finished epoch under `paths`, in a stable order. A path may
    be a run directory, a sweep directory (its trials) or any folder holding those."""
    found: list[Run] = []
    for path in paths:
        if not path.exists():
            raise LocalnetError(f"no such directory: {path}")
        if not path.is_dir():
            raise LocalnetError(f"{path} is a file: pass run or sweep directories (or a folder of them)")
        found += _collect(path, None)
    runs = [run.within(within) for run in found]
    return [run for run in runs if run.rows]


def _collect(path: Path, sweep: Path | None) -> list[Run]:
    if is_run(path):
        try:
            return [load_run(path, sweep)]
        except LocalnetError as err:  # one damaged run does not stop a report of many
            _warn(f"warning: {err}: left out")
            return []
    if is_sweep(path):
        return [r for child in sorted((path / "runs").iterdir()) if child.is_dir() for r in _collect(child, path)]
    return [r for child in sorted(path.iterdir()) if child.is_dir() for r in _collect(child, sweep)]


def seed_key(config: dict[str, Any]) -> str:
    """What identifies a run's setting apart from its seed: the resolved config, seed removed,
    with every option it does not state at today's default (so a run saved before an option
    existed groups with today's runs of the same setting). A config that no longer parses is
    compared as saved."""
    with contextlib.suppress(ConfigError):  # an old or foreign config: compare it as saved
        config = config_to_dict(parse_config(config))
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True, default=str)


def spread(values: list[float]) -> str:
    """"mean ± sd (n seeds)" of per-seed bests, or the single value."""
    if len(values) == 1:
        return f"{values[0]:.2f} (1 seed)"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f} ({len(values)} seeds)"
