"""Starting one trial's `localnet run` process: its log, and its death with its parent."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from typing import IO

from localnet.sweep.runner import TrialJob


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the trial gets SIGKILL if the process that started it dies (a killed sweep or a
    killed Ray worker must not leave an orphan training into a run directory it still locks)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(job: TrialJob) -> tuple[subprocess.Popen, IO[bytes]]:
    """Start `job`, appending its output to RUN_DIR.log beside its run directory."""
    job.run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = job.run_dir.with_name(job.run_dir.name + ".log").open("ab")
    process = subprocess.Popen(job.command(), stdout=log, stderr=subprocess.STDOUT, env=job.env(),
                               preexec_fn=_die_with_parent)
    return process, log
