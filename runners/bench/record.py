"""Benchmark: what recording costs in MNIST-FC training throughput.

Two (or three) identical networks train on the same in-memory minibatches: one without a
recorder, one recording the default probes every `every` steps into a temporary store
(flushes included: a round covers whole chunks; and the copies of unflushed rows a run's
checkpoints take), and with `angle=True` one that also runs
the side BP analysis. Rounds alternate between them so that drift in machine load hits
all alike; the best round of each is compared.

    python -m runners.bench.record [--rule fa] [--steps 1280] [--repeats 5] [--angle]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from localnet import build_network, get_backend, load_config
from localnet.record import RecordConfig, Recorder

from .fc import config_path, synthetic_batches


def _timer(rule: str, batch_size: int, steps: int, x: np.ndarray, y: np.ndarray,
           record: RecordConfig | None, store: Path | None) -> tuple[Callable[[], float], Recorder | None]:
    """A timed round of `steps` training steps (step, loss and the recorder's per-step hook
    as the trainer runs them); returns examples/second."""
    config = load_config(config_path(rule), [f"data.batch_size={batch_size}"])
    backend = get_backend("numpy", "float32")
    net = build_network(config, backend, (784,), 10)
    recorder = Recorder.for_run(config, net, store, record=record) if record is not None else None
    onehot = np.eye(10, dtype=np.float32)[y]
    count = len(x) // batch_size
    output = net.output_layer
    epoch_steps, checkpoint_every = 60_000 // batch_size, config.train.checkpoint_every
    plan = net.rule.passes()[0]
    state = {"step": 0}

    def one() -> None:
        step = state["step"]
        k = step % count
        xb, yb = x[k * batch_size:(k + 1) * batch_size], onehot[k * batch_size:(k + 1) * batch_size]
        probs = net.step(step, xb, yb, plan)
        output.loss(probs, yb)
        if recorder is not None:
            recorder.end_step(step, 1)
            # A run's checkpoints (at epoch ends and every train.checkpoint_every steps; 600
            # steps per MNIST epoch at batch 100, 1000) copy the recorder's unflushed rows.
            if (step + 1) % epoch_steps == 0 or (checkpoint_every and (step + 1) % checkpoint_every == 0):
                recorder.checkpoint_state()
        state["step"] = step + 1

    def round_() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            one()
        backend.synchronize()
        return steps * batch_size / (time.perf_counter() - start)

    return round_, recorder


def run_record_bench(rule: str = "fa", batch_size: int = 100, steps: int = 1280, repeats: int = 5, every: int = 10,
                     chunk: int = 128, angle: bool = False, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Time training with recording off and on (and with the angle analysis if `angle`);
    print examples/s per variant and the overhead %, and return them.

    steps: per round; a multiple of every * chunk (the default 1280 = one flush) makes every
    round pay its share of flushes.
    """
    x, y = synthetic_batches(batch_size, 50)
    variants: dict[str, RecordConfig | None] = {
        "off": None, "on": RecordConfig(enabled=True, every=every, chunk=chunk)}
    if angle:
        variants["angle"] = RecordConfig(enabled=True, every=every, chunk=chunk, angle=True)
    with tempfile.TemporaryDirectory(prefix="bench_record") as tmp:
        timers = {}
        recorders = {}
        for name, record in variants.items():
            timers[name], recorders[name] = _timer(rule, batch_size, steps, x, y, record, Path(tmp) / f"{name}.zarr")
        for timer in timers.values():  # warm up: first allocations, zarr's event loop, array creation
            timer()
        rounds: dict[str, list[float]] = {name: [] for name in timers}
        for repeat in range(repeats):  # alternate, so that drift in machine load hits every variant alike
            for name in (list(timers) if repeat % 2 == 0 else list(timers)[::-1]):
                rounds[name].append(timers[name]())
        costs = {name: rec.cost() for name, rec in recorders.items() if rec is not None}
        for rec in recorders.values():
            if rec is not None:
                rec.close()
    best = {name: max(values) for name, values in rounds.items()}
    result: dict[str, Any] = {"rule": rule, "batch_size": batch_size, "steps": steps, "every": every,
                              "chunk": chunk, **best, "rounds": rounds, "costs": costs}
    echo(f"MNIST-FC {rule}, batch {batch_size}, {steps} steps x {repeats} alternating rounds, record every {every}, "
         f"chunk {chunk}")
    echo(f"  recording off: {best['off']:,.0f} ex/s (best round)")
    for name, label in (("on", "default probes"), ("angle", "with angle")):
        if name not in best:
            continue
        # best rounds against best rounds, and the median over adjacent pairs (robust to drift)
        paired = float(np.median([100.0 * (1 - b / a) for a, b in zip(rounds["off"], rounds[name])]))
        key = "overhead_percent" if name == "on" else "angle_overhead_percent"
        result[key] = 100.0 * (1 - best[name] / best["off"])
        result[key.replace("percent", "paired_percent")] = paired
        echo(f"  {label}: {best[name]:,.0f} ex/s  overhead {result[key]:.1f}% (best rounds), "
             f"{paired:.1f}% (median of paired rounds)")
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--rule", default="fa", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=1280, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--every", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--chunk", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--angle", is_flag=True)
def main(rule: str, batch_size: int, steps: int, repeats: int, every: int, chunk: int, angle: bool) -> None:
    """The cost of recording probes: training steps with and without a Recorder, side by side."""
    run_record_bench(rule, batch_size, steps, repeats, every, chunk, angle)

if __name__ == "__main__":
    main()
