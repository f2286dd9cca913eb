"""The embedded local runner: trials as `localnet run` processes, `jobs` at a time.

Needs nothing installed beyond localnet. Each process's BLAS threads are the trial's
thread count (default 1), so `jobs` x threads should not exceed the machine's cores.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import IO

from localnet.sweep.runner import TrialJob

from .process import start


class LocalRunner:
    """Run jobs as child processes, at most `jobs` at a time (default: one per core)."""

    def __init__(self, jobs: int | None = None, **_: object) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)

    def run(self, jobs: Sequence[TrialJob], done: Callable[[TrialJob, int], None]) -> None:
        pending: list[TrialJob] = list(jobs)
        running: list[tuple[TrialJob, subprocess.Popen, IO[bytes]]] = []
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    job = pending.pop(0)
                    running.append((job, *start(job)))
                time.sleep(0.2)
                for entry in list(running):
                    job, process, log = entry
                    if process.poll() is not None:
                        log.close()
                        running.remove(entry)
                        done(job, process.returncode)
        finally:  # interrupted: stop the children (each resumes from its checkpoint on rerun)
            for _, process, log in running:
                process.terminate()
                process.wait()
                log.close()
