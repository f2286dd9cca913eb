"""`localnet plan`: per-layer shapes, parameter counts and memory, before anything runs.

Memory is counted in bytes of the config's dtype: forward weights, feedback parameters
(FA's B, DFA's B_l, TP inverses and AO-SDTP's fixed features), Adam state (m and v for
every learned array, plus a scratch buffer of the same size), and the activations a
training step keeps per layer at the configured batch (x, a, h). Arrays live in host memory
on numpy and in GPU memory on CuPy; the byte counts are the same for both backends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network


@dataclass(frozen=True)
class LayerPlan:
    name: str
    kind: str
    out_shape: tuple[int, ...]
    parameters: int
    weights: int  # bytes
    feedback: int
    optimizer: int
    activations: int


def plan(network: Network, batch: int) -> list[LayerPlan]:
    """One row per layer for training at `batch` examples per step."""
    size = network.backend.dtype.itemsize
    rows = []
    for node in network.nodes:
        layer = node.layer
        weights = sum(int(p.size) for p in layer.params.values())
        feedback = sum(int(p.size) for p in node.feedback.values())
        learned = weights + sum(int(node.feedback[k].size) for k in network.rule.learned_feedback if k in node.feedback)
        activations = batch * (int(np.prod(layer.in_shape)) + 2 * layer.units)
        rows.append(LayerPlan(node.name, type(layer).__name__, layer.out_shape, weights, weights * size,
                              feedback * size, 3 * learned * size, activations * size))
    return rows


def format_plan(rows: list[LayerPlan], batch: int, backend_note: str) -> str:
    def mib(n: int) -> str:
        return f"{n / 2**20:9.1f}"

    lines = [f"{'layer':<8} {'type':<17} {'output shape':<15} {'params':>11} {'weights':>9} {'feedback':>9} "
             f"{'adam':>9} {'acts@' + str(batch):>9}  (MiB)"]
    for r in rows:
        lines.append(f"{r.name:<8} {r.kind:<17} {str(r.out_shape):<15} {r.parameters:>11,} {mib(r.weights)} "
                     f"{mib(r.feedback)} {mib(r.optimizer)} {mib(r.activations)}")
    total = [sum(getattr(r, f) for r in rows) for f in ("parameters", "weights", "feedback", "optimizer", "activations")]
    lines.append(f"{'total':<8} {'':<17} {'':<15} {total[0]:>11,} {mib(total[1])} {mib(total[2])} {mib(total[3])} "
                 f"{mib(total[4])}")
    lines.append(f"training memory: {sum(total[1:]) / 2**20:.1f} MiB ({backend_note})")
    return "\n".join(lines)
