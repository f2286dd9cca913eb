"""Micro-benchmarks of the parts of a training step that docs/performance.md and
docs/notes/performance_history.md discuss.

    python -m runners.bench.parts adam [--blocks 65536,131072,262144] [--sizes 200704,65536,...]
    python -m runners.bench.parts adam-threads
    python -m runners.bench.parts noise

adam: CPU time of one `Adam.step` over arrays of `sizes` elements, for each block size of
the blocked update (0: unblocked). adam-threads: MNIST-FC's five hidden weights, Adam in one
thread vs split with one worker thread (layer 1's weight vs the rest), each call after a
GEMM as in training, wall time; run it with and without OPENBLAS_NUM_THREADS=1. noise: the
inverse-training noise of one 100 x 256 layer, numpy's ziggurat vs Box-Muller, CPU time.
Variants alternate within every round; the median and best round are printed (ms per call).
Run with every other job on the machine paused.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import click
import numpy as np

from localnet import optim
from localnet.config import AdamConfig

ADAM = AdamConfig(lr=1e-4, beta1=0.9, beta2=0.999, eps=1e-8)
FC_SIZES = (784 * 256, 256 * 256, 256 * 256, 256 * 256, 256 * 256)


def compare(variants: dict[str, Callable[[], object]], rounds: int, calls: int,
            clock: Callable[[], float] = time.process_time) -> dict[str, tuple[float, float]]:
    """{name: (median, best)} milliseconds per call, variants alternating within each round."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        fn()  # warm-up
    for _ in range(rounds):
        for name, fn in variants.items():
            start = clock()
            for _ in range(calls):
                fn()
            times[name].append((clock() - start) / calls * 1e3)
    return {name: (float(np.median(t)), min(t)) for name, t in times.items()}


def adam_variants(sizes: list[int], blocks: list[int]) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    grads = {f"p{i}": rng.random(n, dtype=np.float32) for i, n in enumerate(sizes)}
    variants: dict[str, Callable[[], object]] = {}
    for block in blocks:
        adam = optim.Adam({k: rng.random(g.shape, dtype=np.float32) for k, g in grads.items()}, ADAM, np, block=block)
        variants[f"block {block or 'none'}"] = functools.partial(adam.step, grads)
    return variants


def adam_thread_variants() -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    a, b = rng.random((100, 256), dtype=np.float32), rng.random((256, 256), dtype=np.float32)
    grads = [{"W": rng.random(n, dtype=np.float32)} for n in FC_SIZES]
    serial, split = ([optim.Adam({"W": rng.random(n, dtype=np.float32)}, ADAM, np) for n in FC_SIZES]
                     for _ in range(2))
    pool = ThreadPoolExecutor(1)

    def one_thread() -> None:
        a @ b  # as in training, Adam follows a GEMM (whose BLAS threads may still be spinning)
        for opt, grad in zip(serial, grads):
            opt.step(grad)

    def two_threads() -> None:
        a @ b
        first = pool.submit(split[0].step, grads[0])
        for opt, grad in zip(split[1:], grads[1:]):
            opt.step(grad)
        first.result()

    return {"one thread": one_thread, "two threads": two_threads}


def box_muller(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Standard normals from float32 uniforms: sqrt(-2 ln u1) (cos, sin)(2 pi u2)."""
    half = int(np.prod(shape)) // 2
    u = rng.random((2, half), dtype=np.float32)
    radius = np.sqrt(-2 * np.log1p(-u[0]))
    angle = np.float32(2 * np.pi) * u[1]
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)]).reshape(shape)


def noise_variants() -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    shape = (100, 256)
    return {"ziggurat f32": lambda: rng.standard_normal(shape, dtype=np.float32),
            "uniforms f32 only": lambda: rng.random(shape, dtype=np.float32),
            "Box-Muller f32": lambda: box_muller(rng, shape)}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("part", type=click.Choice(["adam", "adam-threads", "noise"]))
@click.option("--sizes", default=",".join(map(str, FC_SIZES)), show_default=True, help="adam: array sizes (elements).")
@click.option("--blocks", default="65536,131072,262144,0", show_default=True, help="adam: block sizes, 0 = unblocked.")
@click.option("--rounds", type=click.IntRange(min=1), default=15, show_default=True)
@click.option("--calls", type=click.IntRange(min=1), default=100, show_default=True)
def main(part: str, sizes: str, blocks: str, rounds: int, calls: int) -> None:
    """Time one part of a training step (PART: adam, adam-threads, noise), its variants side by side."""
    clock = time.process_time
    if part == "adam":
        variants = adam_variants([int(n) for n in sizes.split(",")], [int(b) for b in blocks.split(",")])
    elif part == "adam-threads":
        variants, clock = adam_thread_variants(), time.perf_counter  # threads: CPU time would add them up
    else:
        variants = noise_variants()
    for name, (median, best) in compare(variants, rounds, calls, clock).items():
        click.echo(f"{name:20s} median {median:8.3f} ms   best {best:8.3f} ms")

if __name__ == "__main__":
    main()
