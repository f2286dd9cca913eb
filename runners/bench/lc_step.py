"""Benchmark: one CIFAR-LC training step of localnet vs the torch unfold-LC reference.

Both train the paper's CIFAR-LC net (3 locally-connected layers, dense 1024, softmax 10)
with the same rule (bp, fa, sdtp), the config's Adam settings, the same batch and float32,
on minibatches already on their device (data loading and augmentation are excluded from
both). One step: bp and fa a forward sweep and the feedback pass; sdtp the parallel
schedule's step (forward sweep training the inverses, then targets and local steps).
Backend numpy faces torch on the CPU, cupy torch on CUDA. Rounds alternate between the
two; reported are the best round of each, their ratio (localnet / torch examples per
second: > 1 means localnet is faster) and the median of the per-round ratios.

    python -m runners.bench.lc_step [--rules bp,fa,sdtp] [--batch 128] [--steps 20] [--repeats 3] [--backend cupy]
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

from .env import StepTimer, environment, match_torch_threads, torch_device, torch_sync

MODELS = Path(__file__).resolve().parents[2] / "models"
CONFIGS = {"bp": "cifar_lc_bp.toml", "fa": "cifar_lc_fa.toml", "sdtp": "cifar_lc_sdtp_parallel.toml"}
CIFAR_SHAPE, CLASSES = (32, 32, 3), 10
#: --set overrides that shrink the net (same layer types, kernels and strides, few channels):
#: for sizing runs on a CPU, not for numbers
NARROW = ("layers.0.channels=4", "layers.1.channels=4", "layers.2.channels=8", "layers.4.units=16")


def lc_config(rule: str, batch: int, sets: tuple[str, ...] = ()) -> Any:
    return load_config(MODELS / CONFIGS[rule], [f"data.batch_size={batch}", *sets])


def time_localnet_step(rule: str, batch: int, steps: int, x: np.ndarray, y: np.ndarray,
                       backend_name: str, sets: tuple[str, ...] = ()) -> StepTimer:
    """A timed round of `steps` localnet steps (and the per-step loss, as the trainer
    computes it); returns examples/second."""
    config = lc_config(rule, batch, sets)
    backend = get_backend(backend_name, "float32")
    net = build_network(config, backend, CIFAR_SHAPE, CLASSES)
    xd = backend.to_device(x)
    onehot = backend.to_device(np.eye(CLASSES, dtype=np.float32)[y])
    plan, output, count = net.rule.passes()[0], net.output_layer, len(x) // batch
    state = {"step": 0}

    def one() -> None:
        k = state["step"] % count
        probs = net.step(state["step"], xd[k * batch:(k + 1) * batch], onehot[k * batch:(k + 1) * batch], plan)
        output.loss(probs, onehot[k * batch:(k + 1) * batch])
        state["step"] += 1

    for _ in range(2):
        one()

    def round_() -> float:
        backend.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            one()
        backend.synchronize()
        return steps * batch / (time.perf_counter() - start)

    return StepTimer(round_, one, backend)


def time_torch_step(rule: str, batch: int, steps: int, x: np.ndarray, y: np.ndarray,
                    device: str, sets: tuple[str, ...] = ()) -> Callable[[], float]:
    """A timed round of the torch reference on the same data, net and hyperparameters."""
    import torch  # noqa: PLC0415

    from .torch_lc_reference import time_lc_trainer, trainer_for_config  # noqa: PLC0415

    step = trainer_for_config(lc_config(rule, batch, sets), rule, CIFAR_SHAPE, device)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)
    yt = torch.from_numpy(y).to(device)
    sync = torch_sync(device)
    return lambda: time_lc_trainer(step, xt, yt, batch, steps, sync)


def run_lc_step_bench(rules: list[str], batch: int = 128, steps: int = 20, repeats: int = 3,
                      backend: str = "numpy", echo: Callable[[str], None] = print,
                      narrow: bool = False) -> list[dict[str, Any]]:
    """Time one training step per rule in both implementations; print a table, return one
    row per rule (rule, backend, localnet and torch ex/s (best rounds), ratio,
    ratio_paired_median, step_ms, torch_step_ms, rounds, rounds_torch, batch, steps, repeats,
    narrow). narrow: the NARROW net, for a quick end-to-end run on a CPU."""
    sets = NARROW if narrow else ()
    unknown = [r for r in rules if r not in CONFIGS]
    if unknown:
        raise ValueError(f"no CIFAR-LC torch reference for {', '.join(unknown)}: choose from {', '.join(CONFIGS)}")
    match_torch_threads()
    device = torch_device(backend)
    env = environment(device)
    where = f"{env['gpu']}, torch CUDA {env['torch_cuda']}" if device != "cpu" else f"torch ({env['torch_threads']} threads)"
    echo(f"CIFAR-LC{' (narrowed)' if narrow else ''} one training step, backend {backend}, batch {batch}, float32, "
         f"{steps} steps x {repeats} rounds, "
         f"wall time; {env['cpu']} ({env['cores']} cores), torch {env['torch']}, {where}")
    rng = np.random.default_rng(0)
    x = rng.random((4 * batch, *CIFAR_SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=4 * batch)
    echo(f"{'rule':<6} {'localnet ex/s':>14} {'torch ex/s':>11} {'ratio':>6} {'paired':>7} {'ms/step':>8} {'torch ms':>9}")
    rows = []
    for rule in rules:  # one rule at a time: two CIFAR-LC nets (with Adam state) are in memory at once
        ours = time_localnet_step(rule, batch, steps, x, y, backend, sets)
        theirs = time_torch_step(rule, batch, steps, x, y, device, sets)
        rounds, rounds_torch = [], []
        for _ in range(repeats):
            rounds.append(ours())
            rounds_torch.append(theirs())
        best, best_torch = max(rounds), max(rounds_torch)
        paired = float(np.median(np.divide(rounds, rounds_torch)))
        row = {"rule": rule, "backend": backend, "config": CONFIGS[rule], "localnet": best, "torch": best_torch,
               "ratio": best / best_torch, "ratio_paired_median": paired, "step_ms": 1e3 * batch / best,
               "torch_step_ms": 1e3 * batch / best_torch, "rounds": rounds, "rounds_torch": rounds_torch,
               "batch": batch, "steps": steps, "repeats": repeats, "narrow": narrow}
        rows.append(row)
        echo(f"{rule:<6} {best:>14,.0f} {best_torch:>11,.0f} {row['ratio']:>6.2f} {paired:>7.2f} "
             f"{row['step_ms']:>8.1f} {row['torch_step_ms']:>9.1f}")
        del ours, theirs
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rules", default="bp,fa,sdtp", show_default=True, help="Comma-separated rules to time.")
@click.option("--batch", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--backend", type=click.Choice(ARRAY_BACKENDS), default="numpy", show_default=True)
@click.option("--narrow", is_flag=True, help="A few channels per layer (CPU sizing runs).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write results here.")
def main(rules: str, batch: int, steps: int, repeats: int, backend: str, narrow: bool, json_out: Path | None) -> None:
    """One CIFAR-LC training step per rule, localnet against the torch LC reference."""
    rows = run_lc_step_bench(rules.split(","), batch, steps, repeats, backend, narrow=narrow)
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")

if __name__ == "__main__":
    main()
