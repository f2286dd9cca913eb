"""Benchmark: the locally-connected kernels vs a PyTorch unfold-based LC and the sgemm peak.

For each CIFAR-LC layer (paper Table 3) at the given batch, in float32, it times
our `affine` (forward), `weight_grads` and `transpose` (col2im feedback) against the same
three operations written with torch.nn.functional.unfold/fold + bmm (no autograd in the timed
region), and a large numpy sgemm as the machine's practical peak. Each op counts
2 * P * B * K * C_out flops. Implementations alternate within every round so that drift in
machine load hits both alike; the best round of each is kept.

Threads: numpy's BLAS and torch use the same count: torch is set to OPENBLAS_NUM_THREADS (or
OMP_NUM_THREADS) when either is set. On a shared machine, multi-threaded per-position GEMMs
stall at every thread barrier whenever a core is taken (seconds instead of tens of ms), so
there compare single-threaded CPU time:

    python -m runners.bench.lc [--batch 128] [--repeats 3] [--json out.json]
    OPENBLAS_NUM_THREADS=1 python -m runners.bench.lc --cpu-time

On a GPU (`--backend cupy`) ours runs on CuPy and torch on CUDA, each timing `--calls` calls
between two device synchronisations; the sgemm peak is then cuBLAS's (CuPy's matmul).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from localnet import get_backend
from localnet.backend import ARRAY_BACKENDS, Backend
from localnet.errors import LocalnetError
from localnet.layers import LocallyConnected, LocallyConnectedSpec

from .env import environment, match_torch_threads, timed, torch_device, torch_sync

# (input (H, W, C), kernel, C_out, stride) of the CIFAR LC net: 5x5/64/s2, 5x5/128/s2, 3x3/256/s1.
CIFAR_LC = [((32, 32, 3), 5, 64, 2), ((16, 16, 64), 5, 128, 2), ((8, 8, 128), 3, 256, 1)]
OPS = ("forward", "weight_grads", "weight_grads_kept", "transpose")
# weight_grads recomputes the patches from x; weight_grads_kept is the update as a training step
# does it, from the patches its forward pass kept (ours: forward(x, keep=True); torch: the
# unfold output, which autograd would keep), so only the GEMM and the bias sum are timed.


def sgemm_peak(n: int = 2048, rounds: int = 5, clock: Callable[[], float] = time.perf_counter,
               backend: Backend | None = None, calls: int = 1) -> float:
    """GFLOP/s of the best of `rounds` float32 (n x n) @ (n x n) products on the backend
    (numpy's BLAS by default; cuBLAS through CuPy's matmul on cupy)."""
    backend = backend or get_backend("numpy", "float32")
    rng = np.random.default_rng(0)
    a, b = (backend.to_device(rng.random((n, n), dtype=np.float32)) for _ in range(2))
    a @ b
    return 2 * n**3 / min(timed(lambda: a @ b, clock, backend.synchronize, calls) for _ in range(rounds)) / 1e9


def ours(in_shape: tuple[int, int, int], kernel: int, c_out: int, stride: int, batch: int,
         backend: Backend | None = None) -> dict[str, Callable]:
    """Our LC layer's ops on random float32 data (per-position biases, as in the paper).
    `setup_<op>`, where present, runs untimed before each timed call of `<op>`."""
    backend = backend or get_backend("numpy", "float32")
    rng = np.random.default_rng(0)
    layer = LocallyConnected(LocallyConnectedSpec(kernel=kernel, channels=c_out, stride=stride), in_shape, backend, rng)
    w, b = layer.params["W"], layer.params["b"]
    x = backend.to_device(rng.random((batch, *in_shape), dtype=np.float32))
    d = backend.to_device(rng.standard_normal((batch, *layer.out_shape), dtype=np.float32))
    return {"forward": lambda: layer.affine(x, w, b), "weight_grads": lambda: layer.weight_grads(x, d),
            "setup_weight_grads_kept": lambda: layer.forward(x, keep=True),
            "weight_grads_kept": lambda: layer.weight_grads(x, d), "transpose": lambda: layer.transpose(d, w)}


def torch_unfold_lc(in_shape: tuple[int, int, int], kernel: int, c_out: int, stride: int,
                    batch: int, device: str = "cpu") -> dict[str, Callable]:
    """The same three ops in torch on its native NCHW layout: unfold/fold for patches, bmm per position.

    forward      baddbmm(b, unfold(x)^T, W): (P, B, K) @ (P, K, C_out) + b -> (P, B, C_out)
    weight_grads bmm(unfold(x), delta): (P, K, B) @ (P, B, C_out), and delta summed over B
    transpose    fold(bmm(delta, W^T)): (P, B, C_out) @ (P, C_out, K), scatter-added to (B, C, H, W)
    """
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    from localnet.layers.patches import same_padding  # noqa: PLC0415

    h, w, c_in = in_shape
    out_h, top, bottom = same_padding(h, kernel, stride)
    out_w, left, right = same_padding(w, kernel, stride)
    positions, k = out_h * out_w, kernel * kernel * c_in
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(positions, k, c_out, generator=gen).to(device)
    bias = torch.zeros(positions, 1, c_out, device=device)
    x = torch.rand(batch, c_in, h, w, generator=gen).to(device)
    delta = torch.randn(positions, batch, c_out, generator=gen).to(device)

    def columns() -> torch.Tensor:  # (P, B, K), a view of unfold's (B, K, P)
        return F.unfold(F.pad(x, (left, right, top, bottom)), kernel, stride=stride).permute(2, 0, 1)

    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return torch.baddbmm(bias, columns(), weight)

    def weight_grads() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            return torch.bmm(columns().transpose(1, 2), delta), delta.sum(dim=1)

    kept: list[torch.Tensor] = []

    def keep_columns() -> None:
        kept[:] = [columns()]

    def weight_grads_kept() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            return torch.bmm(kept[0].transpose(1, 2), delta), delta.sum(dim=1)

    def transpose() -> torch.Tensor:
        with torch.inference_mode():
            cols = torch.bmm(delta, weight.transpose(1, 2)).permute(1, 2, 0)  # (B, K, P)
            padded = F.fold(cols, (h + top + bottom, w + left + right), kernel, stride=stride)
            return padded[:, :, top:top + h, left:left + w]

    return {"forward": forward, "weight_grads": weight_grads, "setup_weight_grads_kept": keep_columns,
            "weight_grads_kept": weight_grads_kept, "transpose": transpose}


def run_lc_bench(batch: int = 128, repeats: int = 3, echo: Callable[[str], None] = print,
                 cpu_time: bool = False, backend: str = "numpy", calls: int = 1,
                 layers: list[tuple[tuple[int, int, int], int, int, int]] | None = None) -> list[dict[str, Any]]:
    """Time each CIFAR-LC layer's three ops, ours vs torch; print a table and return one row per op.

    backend: "numpy" (torch on the CPU) or "cupy" (torch on CUDA); calls: calls per timing
    (a GPU op takes microseconds: time many between two synchronisations); layers: the
    (input, kernel, C_out, stride) shapes, default CIFAR_LC.
    cpu_time: time with process_time (CPU seconds of this process, all threads) instead of the
    wall clock; meaningful single-threaded on a loaded machine. Row keys: layer, op, flops,
    ours_s, torch_s, ours_gflops, torch_gflops, vs_torch (torch time / our time: > 1 means we
    are faster), vs_peak (our GFLOP/s / sgemm peak), sgemm_gflops, batch, repeats, clock.
    """
    try:
        import torch  # noqa: F401, PLC0415
    except ImportError:
        raise LocalnetError("bench_lc needs torch as the reference: pip install -e '.[test]'") from None
    if cpu_time and backend != "numpy":
        raise LocalnetError("--cpu-time measures CPU work only: use it with --backend numpy")
    match_torch_threads()
    device = torch_device(backend)
    env = environment(device)
    ours_backend = get_backend(backend, "float32")
    sync_ours, sync_torch = ours_backend.synchronize, torch_sync(device)
    clock, clock_name = (time.process_time, "CPU time") if cpu_time else (time.perf_counter, "wall time")
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    where = (f"{env['gpu']}, torch CUDA {env['torch_cuda']}" if device != "cpu"
             else f"numpy {env['numpy']} (OPENBLAS_NUM_THREADS={blas_threads}), torch ({env['torch_threads']} threads)")
    echo(f"LC kernels, CIFAR-LC layers, backend {backend}, batch {batch}, float32, best of {repeats} rounds of "
         f"{calls} call(s), {clock_name}; {env['cpu']} ({env['cores']} cores), torch {env['torch']}, {where}")
    peak = sgemm_peak(clock=clock, backend=ours_backend, calls=calls)
    echo(f"{backend} sgemm peak (2048^3): {peak:.1f} GFLOP/s")
    echo(f"{'layer':<22} {'op':<17} {'ours ms':>8} {'GF/s':>6} {'torch ms':>9} {'GF/s':>6} {'vs torch':>9} {'vs peak':>8}")
    rows = []
    for in_shape, kernel, c_out, stride in layers or CIFAR_LC:
        name = f"{'x'.join(map(str, in_shape))} k{kernel} c{c_out} s{stride}"
        mine = ours(in_shape, kernel, c_out, stride, batch, ours_backend)
        theirs = torch_unfold_lc(in_shape, kernel, c_out, stride, batch, device)
        out_h, out_w = -(-in_shape[0] // stride), -(-in_shape[1] // stride)
        flops = 2 * out_h * out_w * batch * kernel * kernel * in_shape[2] * c_out
        for op in OPS:
            def prepare(impl: dict[str, Callable], op: str = op) -> None:
                if f"setup_{op}" in impl:
                    impl[f"setup_{op}"]()
            for impl in (mine, theirs):  # warm up (allocator, thread pools)
                prepare(impl)
                impl[op]()
            best_ours = best_torch = float("inf")
            for _ in range(repeats):  # alternate so that load drift hits both
                prepare(mine)  # a setup (keep the patches) is undone by its op: time one call after each
                n = 1 if f"setup_{op}" in mine else calls
                best_ours = min(best_ours, timed(mine[op], clock, sync_ours, n))
                prepare(theirs)
                best_torch = min(best_torch, timed(theirs[op], clock, sync_torch, n))
            row = {"layer": name, "op": op, "flops": flops, "ours_s": best_ours, "torch_s": best_torch,
                   "ours_gflops": flops / best_ours / 1e9, "torch_gflops": flops / best_torch / 1e9,
                   "vs_torch": best_torch / best_ours, "vs_peak": flops / best_ours / 1e9 / peak,
                   "sgemm_gflops": peak, "batch": batch, "repeats": repeats, "clock": clock_name,
                   "backend": backend}
            rows.append(row)
            echo(f"{name:<22} {op:<17} {best_ours * 1e3:>8.1f} {row['ours_gflops']:>6.1f} {best_torch * 1e3:>9.1f} "
                 f"{row['torch_gflops']:>6.1f} {row['vs_torch']:>8.2f}x {row['vs_peak']:>7.0%}")
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--batch", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--cpu-time", is_flag=True, help="Time CPU seconds instead of wall time.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write results here.")
@click.option("--backend", type=click.Choice(ARRAY_BACKENDS), default="numpy", show_default=True,
              help="cupy: the layer on the GPU against torch on CUDA.")
@click.option("--calls", type=click.IntRange(min=1), default=1, show_default=True,
              help="Calls per timing (about 20 on a GPU).")
def main(batch: int, repeats: int, cpu_time: bool, json_out: Path | None, backend: str, calls: int) -> None:
    """LC kernel GFLOP/s on the CIFAR-LC layer shapes, against a torch unfold LC and numpy's sgemm."""
    rows = run_lc_bench(batch, repeats, cpu_time=cpu_time, backend=backend, calls=calls)
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2) + "\n")

if __name__ == "__main__":
    main()
