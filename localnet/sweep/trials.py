"""The trials table of a sweep: one row per trial, saved as CSV after every change.

A trial is an ordinary run directory (resumable, deterministic, with its resolved config);
the table says what each trial was given (its overrides and seed) and where it stands. The
results columns are read back from the run directories, never kept only in memory, so a
sweep that was killed picks up exactly where its runs stopped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import LocalnetError
from ..metrics_log import read_rows
from ..writes import write_text_atomic

#: status values: pending (not started), running (started, not finished), done (trained to the
#: sweep's full length), stopped (early-killed after a rung), failed (its process exited non-zero)
STATUSES = ("pending", "running", "done", "stopped", "failed")
FIXED = ("trial", "name", "seed", "status", "epochs", "best_test_error", "best_epoch", "final_test_error",
         "run_dir")


@dataclass(frozen=True)
class Trial:
    """One trial: its index, its run-directory name, its seed and its `--set` values.

    values: the sampled (or grid) settings by config key, already as TOML literals."""

    index: int
    name: str
    seed: int
    values: dict[str, str]
    status: str = "pending"
    epochs: int = 0
    best_test_error: float | None = None
    best_epoch: int | None = None
    final_test_error: float | None = None

    @property
    def overrides(self) -> tuple[str, ...]:
        return tuple(f"{key}={value}" for key, value in self.values.items())

    def with_results(self, run_dir: Path) -> Trial:
        """This trial with its results read from `run_dir`'s metrics.jsonl (epochs, best, final)."""
        rows = read_metrics(run_dir)
        if not rows:
            return replace(self, epochs=0, best_test_error=None, best_epoch=None, final_test_error=None)
        best = min(rows, key=lambda row: row["test_error"])
        return replace(self, epochs=len(rows), best_test_error=best["test_error"], best_epoch=best["epoch"],
                       final_test_error=rows[-1]["test_error"])

    def best_within(self, run_dir: Path, epochs: int) -> float:
        """The lowest test error over the first `epochs` epochs (inf if none ran)."""
        rows = read_metrics(run_dir)[:epochs]
        return min((row["test_error"] for row in rows), default=float("inf"))


def read_metrics(run_dir: Path) -> list[dict]:
    """The trial's readable metrics rows (localnet.metrics_log.read_rows; damaged lines are skipped)."""
    return read_rows(run_dir / "metrics.jsonl")


def write_table(path: Path, trials: list[Trial], keys: list[str], runs: Path) -> None:
    """Write the CSV atomically (a temporary file, then a rename), so it is never half-written.
    run_dir is relative to the sweep folder (runs/NAME), so a moved or archived sweep stays right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*FIXED, *keys])
    for t in trials:
        writer.writerow([t.index, t.name, t.seed, t.status, t.epochs, _num(t.best_test_error), _num(t.best_epoch),
                         _num(t.final_test_error), f"{runs.name}/{t.name}", *(t.values.get(k, "") for k in keys)])
    write_text_atomic(path, buffer.getvalue())


def read_table(path: Path) -> tuple[list[Trial], list[str]]:
    """The trials and the value columns of a table written by `write_table`."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(rows[0][:len(FIXED)]) != FIXED:
        raise LocalnetError(f"{path} is not a localnet trials table: move it away, or use another --out")
    keys = rows[0][len(FIXED):]
    trials = []
    for row in rows[1:]:
        fixed = dict(zip(FIXED, row))
        trials.append(Trial(int(fixed["trial"]), fixed["name"], int(fixed["seed"]),
                            dict(zip(keys, row[len(FIXED):])), fixed["status"], int(fixed["epochs"]),
                            _float(fixed["best_test_error"]), _int(fixed["best_epoch"]),
                            _float(fixed["final_test_error"])))
    return trials, keys


def _num(value: float | int | None) -> str:
    return "" if value is None else repr(value)


def _float(text: str) -> float | None:
    return float(text) if text else None


def _int(text: str) -> int | None:
    return int(text) if text else None
