"""BLAS threads on an idle and on a loaded machine: one training epoch per thread setting.

    python -m runners.bench.threads
    python -m runners.bench.threads --threads default,1,0 --loads idle,gemm,busy --repeats 3

Times one epoch of CONFIG (default MNIST-FC FA) on the first LIMIT training examples, as
`localnet run --epochs 1` in a fresh process per measurement, once per thread setting
(`default`: no --threads, the config's own; a number: --threads N, 0 meaning every core),
with the machine idle and under each load:

- gemm: another process multiplying small float32 matrices (a minibatch times a layer)
  in a loop with numpy's default threads, as another training job on the machine would;
- busy: one pure-Python busy loop per core (two on a 2-core machine).

The BLAS environment variables (OPENBLAS_NUM_THREADS and friends) are removed from every
child, so the numbers are what a user gets without them. Each load's processes are stopped
by their PID before the next load starts (and if the benchmark itself is stopped). Prints
a markdown table: the median epoch seconds over the repeats, examples/s, and the ratio to
1 thread under the same load.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")
GEMM_LOOP = ("import numpy as np\n"
             "rng = np.random.default_rng(0)\n"
             "a = rng.random((100, 784), dtype=np.float32)\n"
             "b = rng.random((784, 256), dtype=np.float32)\n"
             "while True:\n"
             "    a @ b\n")
BUSY_LOOP = "while True:\n    pass\n"
LOADS = ("idle", "gemm", "busy")


def clean_env() -> dict[str, str]:
    """This environment without the variables that fix BLAS threads before numpy loads."""
    return {k: v for k, v in os.environ.items() if k not in THREAD_VARS}


def start_load(load: str, cores: int) -> list[subprocess.Popen]:
    """Start the processes of `load` (none for idle)."""
    if load == "idle":
        return []
    code, count = (GEMM_LOOP, 1) if load == "gemm" else (BUSY_LOOP, cores)
    return [subprocess.Popen([sys.executable, "-c", code], env=clean_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(count)]


def stop_load(processes: list[subprocess.Popen]) -> None:
    """Stop each load process by its PID (SIGTERM, then SIGKILL) and reap it."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def time_epoch(config: str, limit: int, threads: str, data_dir: str | None, folder: Path) -> tuple[float, float]:
    """(training seconds of one epoch, epoch examples/s) of `localnet run` with `threads`."""
    out = folder / f"run-{threads}-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "localnet.cli", "run", config, "--epochs", "1", "--out", str(out),
               "--no-progress", "--set", f"data.limit_train={limit}", "--set", "data.limit_test=1000",
               "--set", "train.eval_train=false", "--set", "train.checkpoint_every=0"]
    if threads != "default":
        command += ["--threads", threads]
    if data_dir:
        command += ["--data-dir", data_dir]
    result = subprocess.run(command, env=clean_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"{' '.join(command)} failed: {result.stderr.strip()}")
    (row,) = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return row["seconds"], row["examples_per_second"]


def threads_line() -> str:
    """What `localnet run` says about its threads (the default's count), from its first line."""
    from localnet.threads import DEFAULT_THREADS, available_cores, resolve_threads  # noqa: PLC0415

    return f"default {resolve_threads(DEFAULT_THREADS)}, {available_cores()} cores available"


@click.command()
@click.option("--config", default="models/mnist_fc_fa.toml", show_default=True, help="Config to time.")
@click.option("--limit", type=click.IntRange(min=1), default=6000, show_default=True, help="Training examples.")
@click.option("--threads", "candidates", default="default,1,0", show_default=True,
              help="Comma-separated settings: default (the config's) or a --threads value (0: every core).")
@click.option("--loads", default=",".join(LOADS), show_default=True, help=f"Comma-separated, of {', '.join(LOADS)}.")
@click.option("--repeats", type=click.IntRange(min=1), default=2, show_default=True,
              help="Epochs timed per setting and load (the median is shown).")
@click.option("--data-dir", help="Dataset directory (default: where `localnet run` looks).")
def main(config: str, limit: int, candidates: str, loads: str, repeats: int, data_dir: str | None) -> None:
    """Time one epoch per BLAS-thread setting, idle and under load; print a markdown table."""
    from localnet.threads import available_cores  # noqa: PLC0415

    settings = [c.strip() for c in candidates.split(",") if c.strip()]
    chosen = [x.strip() for x in loads.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in LOADS] + [c for c in settings if c != "default" and not c.isdigit()]
    if unknown:
        raise click.UsageError(f"unknown load or thread setting: {', '.join(unknown)}")
    if "1" not in settings:
        settings.append("1")  # the reference of the ratio column
    # SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, so the loads are still stopped by their PIDs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cores = available_cores()
    rows = [f"{config}, {limit:,} training examples, 1 epoch; threads: {threads_line()}", "",
            "| load | threads | epoch s (median) | epoch s (all) | ex/s | vs 1 thread |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="bench_threads-") as tmp:
        for load in chosen:
            processes = start_load(load, cores)
            try:
                time.sleep(1.0 if processes else 0.0)  # let the load get going
                times: dict[str, list[float]] = {s: [] for s in settings}
                for _ in range(repeats):  # interleaved, so a change in the load hits every setting alike
                    for setting in settings:
                        times[setting].append(time_epoch(config, limit, setting, data_dir, Path(tmp))[0])
                        click.echo(f"{load} threads={setting}: {times[setting][-1]:.2f} s", err=True)
            finally:
                stop_load(processes)
            reference = statistics.median(times["1"])
            for setting in settings:
                median = statistics.median(times[setting])
                label = "default" if setting == "default" else f"{setting} (every core)" if setting == "0" else setting
                rows.append(f"| {load} | {label} | {median:.2f} | {', '.join(f'{t:.2f}' for t in times[setting])} | "
                            f"{limit / median:,.0f} | {median / reference:.2f}x |")
    click.echo("\n".join(rows))


if __name__ == "__main__":
    main()
