"""The full-size ImageNet-LC net on the CPU: steps, memory against `localnet plan`, and torch.

    python -m runners.bench.imagenet full models/imagenet_lc_sdtp.toml [--batch 8] [--steps 3]
    python -m runners.bench.imagenet torch [--batch 16] [--repeats 2]

Run with one BLAS thread (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1);
both commands also pin numpy's BLAS and torch to one thread themselves.

`full` builds the config's network at 224 x 224 x 3 (numpy, float32), feeds seeded
synthetic uint8 images (normalised as the trainer does, on the device) and random labels
of 1,000 classes, and runs `--steps` training steps (every pass of the rule's schedule per
step). It prints one JSON object: seconds per step, the peak RSS, tracemalloc's peak of
traced allocations (numpy reports its array buffers to tracemalloc), the bytes of every
array the network holds after the steps (found by walking it), and plan's figures.

`torch` times one training step of imagenet_lc_bp.toml and one of the plain PyTorch
unfold-based LC net (runners/bench/torch_lc_reference.py) with the same layers, Adam and
batch, in one process, alternating, and prints the ratio (torch s/step / localnet s/step:
> 1 means localnet is faster) and localnet's time per layer phase.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import click
import numpy as np
from threadpoolctl import threadpool_limits

MODELS = Path(__file__).resolve().parents[2] / "models"
SHAPE, CLASSES = (224, 224, 3), 1000


def held_bytes(net: Any) -> int:
    """Bytes of every array the network holds between steps: forward parameters, rule
    state, each optimizer's m, v and scratch, and the gradients nodes keep."""
    seen: dict[int, int] = {}
    for node in net.nodes:
        arrays = [*node.params.values(), *node.state.arrays.values(), *node.grads.values()]
        arrays += [g for group in node.state.grads.values() for g in group.values()]
        for _, opt in node.optimizers():
            arrays += [*opt.m.values(), *opt.v.values(), *opt._scratch.values()]
        for a in arrays:
            seen[id(a)] = int(a.nbytes)
    return sum(seen.values())


def synthetic_batch(backend: Any, batch: int, step: int) -> tuple[Any, Any]:
    from localnet.data.imagenet import normalize_on_device  # noqa: PLC0415
    from localnet.seeding import rng_for  # noqa: PLC0415

    rng = rng_for(0, "synthetic", f"step{step}")
    x = rng.integers(0, 256, size=(batch, *SHAPE), dtype=np.uint8)
    onehot = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, size=batch)]
    return normalize_on_device(backend, x), backend.to_device(onehot)


def run_full(path: Path, batch: int, steps: int) -> dict[str, Any]:
    from localnet import get_backend, load_config  # noqa: PLC0415
    from localnet.config import config_to_dict  # noqa: PLC0415
    from localnet.plan import build_checked, plan  # noqa: PLC0415

    config = load_config(path, [f"data.batch_size={batch}", "backend=numpy"])
    backend = get_backend("numpy", config.dtype)
    tracemalloc.start()
    start = time.perf_counter()
    net = build_checked(config, backend, SHAPE, CLASSES)
    build = time.perf_counter() - start
    seconds = []
    for step in range(steps):
        x, onehot = synthetic_batch(backend, batch, step)
        start = time.perf_counter()
        for schedule in net.rule.passes():
            net.step(step, x, onehot, schedule)
        seconds.append(time.perf_counter() - start)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = plan(net, batch)
    persistent = sum(r.total - r.activations - r.scratch for r in rows)
    total = sum(r.total for r in rows)
    held = held_bytes(net)
    return {"config": path.name, "rule": config_to_dict(config)["rule"]["name"], "batch": batch, "steps": steps,
            "parameters": net.parameter_count(), "build_s": round(build, 1),
            "s_per_step": [round(s, 2) for s in seconds],
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30, 2),
            "traced_peak_gib": round(traced_peak / 2**30, 3), "held_gib": round(held / 2**30, 3),
            "plan_persistent_gib": round(persistent / 2**30, 3), "plan_total_gib": round(total / 2**30, 3),
            "held_over_plan_persistent": round(held / persistent, 4),
            "traced_peak_over_plan_total": round(traced_peak / total, 4)}


def run_torch(batch: int, repeats: int) -> dict[str, Any]:
    import torch  # noqa: PLC0415

    from localnet import get_backend, load_config  # noqa: PLC0415
    from localnet.plan import build_checked  # noqa: PLC0415

    from .torch_lc_reference import trainer_for_config  # noqa: PLC0415

    torch.set_num_threads(1)
    config = load_config(MODELS / "imagenet_lc_bp.toml", [f"data.batch_size={batch}", "backend=numpy"])
    backend = get_backend("numpy", "float32")
    net = build_checked(config, backend, SHAPE, CLASSES)
    reference = trainer_for_config(config, "bp", SHAPE)
    x, onehot = synthetic_batch(backend, batch, 0)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(onehot.argmax(axis=1))
    schedule = net.rule.passes()[0]
    ours, theirs = [], []
    for step in range(repeats + 1):  # the first round of each is a warm-up (page faults of fresh arrays)
        start = time.perf_counter()
        net.step(step, x, onehot, schedule)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference(xt, yt)
        theirs.append(time.perf_counter() - start)
    best_ours, best_theirs = min(ours[1:]), min(theirs[1:])
    return {"config": "imagenet_lc_bp.toml", "batch": batch, "threads": 1, "localnet_s": [round(s, 2) for s in ours],
            "torch_s": [round(s, 2) for s in theirs], "ratio_torch_over_localnet": round(best_theirs / best_ours, 3),
            "torch": torch.__version__, "numpy": np.__version__}


@click.group()
def main() -> None:
    """Full-size ImageNet-LC steps on the CPU (one thread)."""


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", default=8, show_default=True)
@click.option("--steps", default=3, show_default=True)
@click.option("--keep-freed-memory/--default-malloc", default=True, show_default=True,
              help="Keep freed host memory for reuse, as `localnet run` does (localnet.host_memory), "
                   "or leave glibc's malloc as it is.")
def full(config: Path, batch: int, steps: int, keep_freed_memory: bool) -> None:
    """Build CONFIG at 224 x 224, run STEPS steps, compare memory with plan."""
    if keep_freed_memory:
        from localnet.host_memory import keep_freed_memory as keep  # noqa: PLC0415

        keep()
    with threadpool_limits(1):
        click.echo(json.dumps({**run_full(config, batch, steps), "keep_freed_memory": keep_freed_memory}))


@main.command("torch")
@click.option("--batch", default=16, show_default=True)
@click.option("--repeats", default=2, show_default=True)
def torch_command(batch: int, repeats: int) -> None:
    """One BP step of imagenet_lc_bp.toml against the torch unfold LC reference."""
    with threadpool_limits(1):
        click.echo(json.dumps(run_torch(batch, repeats)))


if __name__ == "__main__":
    sys.exit(main())
