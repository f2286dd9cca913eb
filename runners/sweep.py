"""Run a config under several `--set` variants (and seeds), a few processes at a time.

    python -m runners.sweep models/mnist_fc_bp.toml --out runs/sweep_bp --jobs 2 \\
        --variant "b50: data.batch_size=50" \\
        --variant "std: data.normalize=\\"standardize\\"" --seeds 0,1

Each variant is `NAME: key=value, key=value` (`--set` syntax; an empty list is the config as
shipped, e.g. "shipped:"). Every (variant, seed) becomes one `localnet run` process writing
OUT/NAME-sSEED (its log next to it); runs already finished there are skipped and an
unfinished one with a checkpoint continues from it (`localnet run --resume`), so a stopped
sweep resumes where it was. A run directory belongs to its variant's name: to change a
variant's settings, give it a new name. Each process trains on `--threads` BLAS threads
(passed to `localnet run --threads`; default: localnet's, 1): several multi-threaded numpy
processes on a small machine oversubscribe the cores and run many times slower. When all
are done, the table of `runners.report` is printed (and written to OUT/report.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .report import load_run, table


@dataclass(frozen=True)
class Job:
    """One `localnet run`: the variant's name, its overrides, the seed and the run dir."""

    name: str
    overrides: tuple[str, ...]
    seed: int
    run_dir: Path

    def command(self, config: Path, extra: list[str]) -> list[str]:
        if resumable(self.run_dir):  # an unfinished earlier attempt with a checkpoint
            return [sys.executable, "-m", "localnet.cli", "run", "--resume", str(self.run_dir), *extra]
        if self.run_dir.exists():  # started but nothing saved yet: start over
            extra = [*extra, "--force"]
        sets = [arg for item in self.overrides for arg in ("--set", item)]
        return [sys.executable, "-m", "localnet.cli", "run", str(config), "--seed", str(self.seed),
                "--out", str(self.run_dir), *sets, *extra]


def parse_variant(text: str) -> tuple[str, tuple[str, ...]]:
    """"NAME: k=v, k=v" -> (NAME, ("k=v", "k=v")); commas inside quotes or brackets are kept."""
    if ":" not in text:
        raise SystemExit(f"error: --variant {text!r} needs a name: write e.g. --variant \"b50: data.batch_size=50\"")
    name, rest = text.split(":", 1)
    items, depth, quote, current = [], 0, "", ""
    for char in rest:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        items.append(current.strip())
    return name.strip(), tuple(items)


def finished(run_dir: Path) -> bool:
    return (run_dir / "summary.json").is_file()


def resumable(run_dir: Path) -> bool:
    return (run_dir / "config.toml").is_file() and any((run_dir / "checkpoints").glob("ckpt-*.npz"))


def run_sweep(config: Path, out: Path, variants: list[tuple[str, tuple[str, ...]]], seeds: list[int], jobs: int,
              extra: list[str]) -> list[Path]:
    """Run every (variant, seed) not yet finished, `jobs` at a time; return the run dirs."""
    out.mkdir(parents=True, exist_ok=True)
    todo = [Job(name, overrides, seed, out / f"{name}-s{seed}") for name, overrides in variants for seed in seeds]
    run_jobs([(job, config) for job in todo], out, jobs, extra)
    return [job.run_dir for job in todo]


def run_jobs(todo: list[tuple[Job, Path]], out: Path, jobs: int, extra: list[str]) -> None:
    """Run each (job, its config) whose run is not finished, `jobs` processes at a time, each
    logging to OUT/RUN.log; a job with a checkpoint resumes. Prints a line as each starts and ends.
    extra: `localnet run` options for every job (--epochs, --data-dir, --threads)."""
    out.mkdir(parents=True, exist_ok=True)
    pending = [(job, config) for job, config in todo if not finished(job.run_dir)]
    running: list[tuple[Job, subprocess.Popen, object]] = []
    while pending or running:
        while pending and len(running) < jobs:
            job, config = pending.pop(0)
            how = "resume" if resumable(job.run_dir) else "start"
            log = open(out / f"{job.run_dir.name}.log", "a")  # noqa: SIM115 - closed when it ends
            print(f"{how} {job.run_dir.name}: {' '.join(job.overrides) or '(as shipped)'}", flush=True)
            running.append((job, subprocess.Popen(job.command(config, extra), stdout=log,
                                                  stderr=subprocess.STDOUT), log))
        time.sleep(2)
        for entry in list(running):
            job, process, log = entry
            if process.poll() is not None:
                log.close()
                running.remove(entry)
                status = "done" if process.returncode == 0 else f"FAILED (exit {process.returncode}, see its log)"
                print(f"{status}: {job.run_dir.name}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the run directories")
    parser.add_argument("--variant", action="append", default=[], help='"NAME: key=value, ..." (repeatable)')
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)), help="processes at a time")
    parser.add_argument("--epochs", type=int, help="override train.epochs for every run")
    parser.add_argument("--data-dir", help="passed to every run (default: the usual resolution)")
    parser.add_argument("--threads", type=int, help="BLAS threads of every run (localnet run --threads; default 1)")
    args = parser.parse_args()
    if not args.config.is_file():
        raise SystemExit(f"error: config {args.config} does not exist")
    variants = [parse_variant(text) for text in args.variant] or [("shipped", ())]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    extra = ["--epochs", str(args.epochs)] if args.epochs is not None else []
    extra += ["--data-dir", args.data_dir] if args.data_dir else []
    extra += ["--threads", str(args.threads)] if args.threads is not None else []
    dirs = run_sweep(args.config, args.out, variants, seeds, args.jobs, extra)
    done = [load_run(d) for d in dirs if finished(d)]
    report = table(done) if done else "(no finished runs)"
    (args.out / "report.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
