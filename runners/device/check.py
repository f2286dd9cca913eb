"""One prepared check of the GPU path, at most 8 minutes on one GPU, no network.

    runners/device_check                        # on a GPU machine: backend cupy, full sizes
    runners/device_check --backend numpy --small  # the same stages, CPU-sized, in a minute or two
    python -m runners.device.check wheels       # here, with a network: wheels the GPU image lacks

Stages, each in its own process and time-boxed (a failed or timed-out stage is recorded and
the check goes on): install (offline, the CuPy extra for the CUDA major found), env (card
and versions), tests (`pytest -m gpu`), fc (MNIST-FC bp/fa/dfa against torch, batch 128),
lc_step (CIFAR-LC bp/fa/sdtp one step against torch unfold-LC, batch 128), lc_ops (per-layer
op times and col2im variants), cifar_epoch (CIFAR-10 LC BP, one epoch on synthetic data),
imagenet (200 ImageNet-LC SDTP steps, if its config exists). Writes device_check.json,
device_check.md and device_check.log under --out (default $OUT, else runs/device_check),
the JSON and Markdown rewritten after every stage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from .report import markdown, summarize
from .stages import ROOT, Options

#: (stage, seconds it may take at full size); the sum stays under the default budget
STAGES: tuple[tuple[str, int], ...] = (("install", 45), ("env", 20), ("tests", 150), ("fc", 45), ("lc_step", 60),
                                       ("lc_ops", 35), ("cifar_epoch", 75), ("imagenet", 40))
BUDGET = 470  # seconds: 8 minutes less process start-ups and the writing of the report
#: packages the nvidia-h200 image lacks that the project needs, with their own needs
DEVICE_WHEELS = ("zarr", "numcodecs", "donfig", "google-crc32c")


def stage_functions() -> dict[str, Callable[[Options], dict[str, Any]]]:
    from . import stages as s, train as t  # noqa: PLC0415 - the stages import torch and the library

    return {"install": s.install, "env": s.env, "tests": s.tests, "fc": s.fc, "lc_step": s.lc_step,
            "lc_ops": s.lc_ops, "cifar_epoch": t.cifar_epoch, "imagenet": t.imagenet}


def run_stage(name: str, opts: Options, timeout: float, log: Path) -> dict[str, Any]:
    """Run one stage in a child process (its own process group, killed whole on timeout)."""
    result_file = log.parent / f".stage_{name}.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "runners.device.check", "stage", name, "--json", str(result_file),
           "--backend", opts.backend, "--wheels", str(opts.wheels), "--imagenet-config", str(opts.imagenet_config)]
    if opts.small:
        cmd.append("--small")
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n===== stage {name} (timeout {timeout:.0f} s) =====\n")
        out.flush()
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            code = None
    seconds = time.perf_counter() - start
    record: dict[str, Any] = {"name": name, "seconds": round(seconds, 1)}
    if result_file.is_file():
        result = json.loads(result_file.read_text())
        result_file.unlink()
        record["status"] = result.pop("status", "ok")
        record.update(result)
    else:
        record["status"] = "timeout" if code is None else "failed"
        record["error"] = (f"killed after {timeout:.0f} s" if code is None
                           else f"exit code {code}: see device_check.log, stage {name}")
    return record


def run_check(opts: Options, out: Path, budget: float, only: list[str] | None = None,
              echo: Callable[[str], None] = click.echo) -> dict[str, Any]:
    """Run the stages in order within `budget` seconds; write the JSON and the Markdown after each."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "device_check.log"
    log.write_text("")
    report: dict[str, Any] = {"options": {**asdict(opts), "wheels": str(opts.wheels),
                                          "imagenet_config": str(opts.imagenet_config)},
                              "budget_seconds": budget, "stages": []}
    deadline = time.monotonic() + budget
    plan = [(n, s) for n, s in STAGES if only is None or n in only]
    for index, (name, box) in enumerate(plan):
        left = deadline - time.monotonic() - 5 * (len(plan) - index - 1)  # a few seconds for each later stage
        if left < 5:
            record = {"name": name, "status": "skipped", "reason": "the time budget was spent", "seconds": 0}
        else:
            record = run_stage(name, opts, min(box, left) if not opts.small else left, log)
        report["stages"].append(record)
        echo(f"{name:<12} {record['status']:<8} {record['seconds']:>6.1f} s  {record.get('error', record.get('reason', ''))}")
        write_reports(report, out)
    return report


def write_reports(report: dict[str, Any], out: Path) -> None:
    """Write the JSON and the Markdown; a stage result the summary cannot read is reported in
    them, never allowed to stop the check."""
    try:
        report["summary"] = summarize(report)
        page = markdown(report)
    except Exception as err:  # a malformed stage result: keep the raw JSON, say why the table is short
        report["summary_error"] = f"{type(err).__name__}: {err}"
        page = f"# Device check\n\nThe summary failed ({report['summary_error']}); see device_check.json.\n"
    (out / "device_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "device_check.md").write_text(page)


def options(function: Callable) -> Callable:
    function = click.option("--backend", type=click.Choice(["cupy", "numpy"]), default="cupy", show_default=True,
                            help="cupy on a GPU; numpy to run the CPU-side parts")(function)
    function = click.option("--small", is_flag=True, help="CPU-sized stages (sizing runs, not numbers)")(function)
    function = click.option("--wheels", type=click.Path(file_okay=False, path_type=Path), default=ROOT / ".whl",
                            show_default=True, help="wheels of packages the machine lacks")(function)
    return click.option("--imagenet-config", type=click.Path(dir_okay=False, path_type=Path),
                        default=ROOT / "models" / "imagenet_lc_sdtp.toml", show_default=True)(function)


@click.group()
def main() -> None:
    """Check the GPU path in one short run: see `run --help`."""


@main.command("run")
@options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the JSON, Markdown and log go (default: $OUT, else runs/device_check)")
@click.option("--budget", type=click.FloatRange(min=10), default=BUDGET, show_default=True, help="seconds for all stages")
@click.option("--stages", default=None, help=f"comma-separated subset of {', '.join(n for n, _ in STAGES)}")
def run_command(backend: str, small: bool, wheels: Path, imagenet_config: Path, out: Path | None, budget: float,
                stages: str | None) -> None:
    """Run every stage, time-boxed, and write the report."""
    only = [s.strip() for s in stages.split(",")] if stages else None
    unknown = sorted(set(only or []) - {n for n, _ in STAGES})
    if unknown:
        raise click.UsageError(f"unknown stage(s) {', '.join(unknown)}: choose from {', '.join(n for n, _ in STAGES)}")
    out = out or Path(os.environ.get("OUT") or ROOT / "runs" / "device_check")
    report = run_check(Options(backend, small, wheels, imagenet_config), out, budget, only)
    click.echo("\n" + (out / "device_check.md").read_text())  # last, so that a log's tail holds the table
    click.echo(f"wrote {out / 'device_check.json'} and {out / 'device_check.md'}")
    failed = [s["name"] for s in report["stages"] if s["status"] in ("failed", "timeout")]
    if failed:
        click.echo(f"stages failed: {', '.join(failed)}")


@main.command("stage", hidden=True)
@click.argument("name", type=click.Choice([n for n, _ in STAGES]))
@options
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def stage_command(name: str, backend: str, small: bool, wheels: Path, imagenet_config: Path, json_out: Path) -> None:
    """Run one stage in this process and write its result (with a status) to --json."""
    start = time.perf_counter()
    try:
        result = stage_functions()[name](Options(backend, small, wheels, imagenet_config))
        result.setdefault("status", "ok")
    except Exception as err:  # recorded, not raised: the check goes on with the next stage
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(err).__name__}: {err}"[:2000]}
    result["stage_seconds"] = round(time.perf_counter() - start, 2)
    json_out.write_text(json.dumps(result, default=str))


@main.command("wheels")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=ROOT / ".whl", show_default=True)
@click.option("--python-version", default="3.12", show_default=True, help="the GPU machine's Python")
@click.option("--package", "packages", multiple=True, help=f"default: {', '.join(DEVICE_WHEELS)}")
def wheels_command(dest: Path, python_version: str, packages: tuple[str, ...]) -> None:
    """Download (here, with a network) x86-64 Linux wheels of the packages the GPU machine lacks,
    at the versions installed here; carry the folder with the check."""
    import importlib.metadata  # noqa: PLC0415

    names = packages or DEVICE_WHEELS
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise click.ClickException(f"{name} is not installed here: pip install {name}, or name another --package") from None
    platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                                              "manylinux2014_x86_64", "manylinux1_x86_64")]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", f"--python-version={python_version}",
           "--implementation=cp", *platforms, "-d", str(dest), *pins]
    if subprocess.run(cmd).returncode != 0:
        raise click.ClickException("pip download failed (see above): check the network and the package names")
    size = sum(p.stat().st_size for p in dest.glob("*.whl"))
    click.echo(f"{dest}: {len(list(dest.glob('*.whl')))} wheels, {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
