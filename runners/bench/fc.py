"""Benchmark: training examples/second of localnet vs a plain PyTorch reference.

On the CPU (backend numpy) the reference is torch on the CPU; on the GPU (backend cupy) it is
torch on CUDA, each with its data already on its device. Both train the paper's MNIST-FC net
(784-256x5-10, tanh, softmax) with the same rule, the same Adam settings (from
models/mnist_fc_<rule>.toml) and the same minibatches, already in memory as float32 (data
loading is excluded from both). Rounds alternate between the two implementations so that
machine noise hits both alike. Reported: the best round of each and their ratio, and the median
over rounds of the ratio within a round ("paired"), which cancels drift in the machine's speed
between rounds.

    localnet bench [--rules bp,fa,dfa] [--batch-size 100] [--steps 200] [--repeats 3] [--cpu-time]
    python -m runners.bench.fc ... [--backend cupy]
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from localnet import build_network, get_backend, load_config
from localnet.backend import ARRAY_BACKENDS
from localnet.errors import LocalnetError
from localnet.rules import TargetRule
from localnet.schedule import PARALLEL

from .env import StepTimer, environment, match_torch_threads, torch_device, torch_sync

MODELS = Path(__file__).resolve().parents[2] / "models"


def synthetic_batches(batch_size: int, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """count minibatches of MNIST-shaped inputs in [0, 1] (float32) and int64 labels."""
    rng = np.random.default_rng(seed)
    x = rng.random((count * batch_size, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=count * batch_size)
    return x, y


TORCH_RULES = ("bp", "fa", "dfa")  # rules with a PyTorch reference; the TP family is timed against BP


def config_path(rule: str) -> Path:
    """The MNIST-FC config timed for `rule` (TP rules: the parallel schedule, whose every
    step is a forward sweep with inverse updates plus the target phase)."""
    for name in (f"mnist_fc_{rule}.toml", f"mnist_fc_{rule}_parallel.toml"):
        if (MODELS / name).is_file():
            return MODELS / name
    known = sorted({p.stem[9:].removesuffix("_parallel").removesuffix("_alternating") for p in MODELS.glob("mnist_fc_*.toml")})
    raise LocalnetError(f"no MNIST-FC config for rule {rule!r} in {MODELS}: choose from {', '.join(known)}")


def time_localnet(rule: str, batch_size: int, steps: int, x: np.ndarray, y: np.ndarray,
                  clock: Callable[[], float] = time.perf_counter, backend_name: str = "numpy") -> StepTimer:
    """A timed round of `steps` localnet training steps; returns examples/second. The data is
    copied to the backend once, before timing (a GPU run times no host-device copies)."""
    config = load_config(config_path(rule), [f"data.batch_size={batch_size}"])
    backend = get_backend(backend_name, "float32")
    net = build_network(config, backend, (784,), 10)
    onehot = backend.to_device(np.eye(10, dtype=np.float32)[y])
    x = backend.to_device(x)
    count = len(x) // batch_size
    loss_layer = net.output_layer
    counter = iter(range(10**12))

    # BP/FA/DFA: forward + feedback; TP rules: the parallel step (inverse sweep + targets),
    # whatever the config's schedule, so that a "step" is comparable across rules.
    plan = PARALLEL[0] if isinstance(net.rule, TargetRule) else net.rule.passes()[0]

    def one(step: int) -> None:
        k = step % count
        xb, yb = x[k * batch_size:(k + 1) * batch_size], onehot[k * batch_size:(k + 1) * batch_size]
        probs = net.step(step, xb, yb, plan)
        loss_layer.loss(probs, yb)  # the trainer's per-step metric, as torch's step returns its loss

    for _ in range(5):
        one(next(counter))

    def round_() -> float:
        backend.synchronize()
        start = clock()
        for _ in range(steps):
            one(next(counter))
        backend.synchronize()
        return steps * batch_size / (clock() - start)

    return StepTimer(round_, lambda: one(next(counter)), backend)


def time_torch(rule: str, batch_size: int, steps: int, x: np.ndarray, y: np.ndarray,
               clock: Callable[[], float] = time.perf_counter, device: str = "cpu") -> Callable[[], float]:
    """A timed round of the PyTorch reference on the same data and hyperparameters, on `device`."""
    import torch  # noqa: PLC0415

    from .torch_reference import make_trainer, time_trainer  # noqa: PLC0415

    config = load_config(config_path(rule))
    o = config.optim
    sizes = [784] + [spec.units for spec in config.layers]
    scale = getattr(config.rule, "feedback_scale", 1.0)
    step = make_trainer(rule, sizes, o.lr, (o.beta1, o.beta2), o.eps, scale, seed=0, device=device)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    sync = torch_sync(device)
    return lambda: time_trainer(step, xt, yt, batch_size, steps, warmup=5, clock=clock, sync=sync)


def run_bench(rules: list[str], batch_size: int, steps: int, repeats: int, json_out: Path | None,
              echo: Callable[[str], None] = print, cpu_time: bool = False,
              backend: str = "numpy") -> list[dict[str, Any]]:
    """Time each rule in both implementations; print a table and the ratio localnet / torch.

    backend: "numpy" (torch on the CPU) or "cupy" (torch on CUDA; wall time only).
    cpu_time: time CPU seconds of this process (all threads; `time.process_time`) instead of
    wall time. With OPENBLAS_NUM_THREADS=1 (torch then gets one thread too) this counts only
    work done, not time lost to other processes on a shared machine.
    """
    try:
        import torch  # noqa: F401, PLC0415
    except ImportError:
        raise LocalnetError("localnet bench needs torch as the reference: pip install -e '.[test]'") from None
    for rule in rules:
        config_path(rule)
    if cpu_time and backend != "numpy":
        raise LocalnetError("--cpu-time measures CPU work only: use it with --backend numpy")
    match_torch_threads()
    clock, clock_name = (time.process_time, "CPU time") if cpu_time else (time.perf_counter, "wall time")
    device = torch_device(backend)
    env = environment(device)
    where = f"{env['gpu']}, torch CUDA {env['torch_cuda']}" if device != "cpu" else f"torch ({env['torch_threads']} threads)"
    echo(f"MNIST-FC 784-256x5-10, backend {backend}, batch {batch_size}, {steps} steps x {repeats} rounds, best round "
         f"and paired median, {clock_name}; {env['cpu']} ({env['cores']} cores), numpy {env['numpy']}, "
         f"torch {env['torch']}, {where}")
    x, y = synthetic_batches(batch_size, 50)
    results = []
    echo(f"{'rule':<7} {'localnet ex/s':>14} {'torch ex/s':>12} {'ratio':>7} {'paired':>7} "
         f"{'cost/BP':>9} {'paired':>8}")
    timers = {rule: time_localnet(rule, batch_size, steps, x, y, clock, backend) for rule in rules}
    references = {rule: time_torch(rule, batch_size, steps, x, y, clock, device)
                  for rule in rules if rule in TORCH_RULES}
    if any(rule not in TORCH_RULES for rule in rules) and "bp" not in timers:
        timers["bp"] = time_localnet("bp", batch_size, steps, x, y, clock, backend)  # TP rules are compared with BP
    rounds: dict[str, list[float]] = {rule: [] for rule in timers}
    rounds_ref: dict[str, list[float]] = {rule: [] for rule in references}
    for _ in range(repeats):  # alternate implementations and rules so that drift in machine load hits all
        for rule in timers:
            rounds[rule].append(timers[rule]())
            if rule in references:
                rounds_ref[rule].append(references[rule]())
    best = {rule: max(values) for rule, values in rounds.items()}
    best_ref = {rule: max(values) for rule, values in rounds_ref.items()}
    for rule in rules:
        # Besides best against best, the median of per-round ratios: each pairs two timings
        # taken seconds apart, so slow drift in this machine's speed cancels.
        paired = float(np.median(np.divide(rounds[rule], rounds_ref[rule]))) if rule in references else None
        paired_cost = float(np.median(np.divide(rounds["bp"], rounds[rule]))) if "bp" in rounds else None
        row = {"rule": rule, "backend": backend, "localnet": best[rule], "torch": best_ref.get(rule), "batch_size": batch_size,
               "steps": steps, "repeats": repeats, "config": config_path(rule).name,
               "ratio": best[rule] / best_ref[rule] if rule in best_ref else None,
               "ratio_paired_median": paired,
               "step_cost_vs_bp": best["bp"] / best[rule] if "bp" in best else None,
               "step_cost_paired_median": paired_cost,
               "rounds": rounds[rule], "rounds_torch": rounds_ref.get(rule)}
        results.append(row)
        torch_text = (f"{row['torch']:>12,.0f} {row['ratio']:>7.2f} {paired:>7.2f}" if row["torch"]
                      else f"{'-':>12} {'-':>7} {'-':>7}")
        cost = f"{row['step_cost_vs_bp']:>8.2f}x {paired_cost:>7.2f}x" if row["step_cost_vs_bp"] else ""
        echo(f"{rule:<7} {best[rule]:>14,.0f} {torch_text} {cost}")
    if json_out is not None:
        json_out.write_text(json.dumps({"environment": env, "results": results}, indent=2) + "\n")
    return results


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rules", default="bp,fa,dfa", show_default=True, help="Comma-separated rules to time.")
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True, help="Timed steps per round.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write results here.")
@click.option("--cpu-time", is_flag=True, help="Time CPU seconds instead of wall time.")
@click.option("--backend", type=click.Choice(ARRAY_BACKENDS), default="numpy", show_default=True,
              help="cupy: localnet on the GPU against torch on CUDA.")
def main(rules: str, batch_size: int, steps: int, repeats: int, json_out: Path | None, cpu_time: bool,
         backend: str) -> None:
    """Training examples/s per rule on MNIST-FC, localnet against PyTorch in one run."""
    run_bench(rules.split(","), batch_size, steps, repeats, json_out, cpu_time=cpu_time, backend=backend)

if __name__ == "__main__":
    main()
