"""The Ray runner: each trial is a Ray task with a resource request, retried on failure.

Ray core tasks, not Ray Tune: the sweep protocol (sampling, rungs, early kill) lives in
localnet.sweep so that every backend runs the same code and gives the same trials table;
Ray contributes what a cluster needs, scheduling by resources (CPUs = the trial's BLAS
threads, GPUs when the backend is cupy), placement across nodes and retries. A task whose
worker dies is retried (max_retries), and the trial resumes from its newest checkpoint, so
its result equals an uninterrupted run's. Run directories must be on storage every node
sees (the sweep's --out on a shared file system).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from localnet.errors import ConfigError
from localnet.sweep.runner import TrialJob

RETRIES = 3


def _run_trial(job: TrialJob) -> int:
    """In a Ray worker: run the trial to completion and return its exit code."""
    from runners.execution.process import start  # noqa: PLC0415 - imported in the worker

    process, log = start(job)
    with log:
        return process.wait()


class RayRunner:
    """Submit every job at once; Ray runs as many as the cluster's resources allow.

    address: None starts a local Ray instance; "auto" joins the cluster this node belongs
    to; "ray://host:port" connects a client."""

    def __init__(self, address: str | None = None, jobs: int | None = None, **_: object) -> None:
        try:
            import ray  # noqa: PLC0415 - optional dependency
        except ImportError:
            raise ConfigError("--runner ray needs Ray: pip install -e '.[ray]' (or use --runner local)") from None
        self.ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
            if address is None and jobs:
                options["num_cpus"] = jobs
            ray.init(**options)
        self.task = ray.remote(max_retries=RETRIES)(_run_trial)

    def run(self, jobs: Sequence[TrialJob], done: Callable[[TrialJob, int], None]) -> None:
        refs = {self.task.options(num_cpus=job.threads, num_gpus=job.gpus).remote(job): job for job in jobs}
        try:
            while refs:
                ready, _ = self.ray.wait(list(refs), num_returns=1)
                job = refs.pop(ready[0])
                try:
                    code = self.ray.get(ready[0])
                except self.ray.exceptions.RayError:  # retries exhausted
                    code = -1
                done(job, code)
        finally:
            for ref in refs:
                self.ray.cancel(ref, force=True)
