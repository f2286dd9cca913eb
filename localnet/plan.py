"""`localnet plan`: per-layer shapes, parameter counts and memory, before anything runs.

Memory is counted in bytes of the config's dtype: forward weights, feedback parameters
(FA's B, DFA's B_l, TP inverses and AO-SDTP's fixed features), Adam state (m and v for
every learned array, plus a scratch buffer of the same size), and the activations a
training step keeps per layer at the configured batch (x, a, h, and a patch layer's im2col
columns, kept from the forward pass for the weight gradient). Arrays live in host memory
on numpy and in GPU memory on CuPy; the byte counts are the same for both backends.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError
from .network import Network
from .writes import size_text


@dataclass(frozen=True)
class LayerPlan:
    """One layer's memory in bytes. weights: forward W, b; feedback: every rule state array
    (fixed B and learned inverses), of which `inverses` are the learned ones; optimizer:
    Adam's m, v and scratch for every learned array; activations: what a step keeps at the
    batch (x, a, h, im2col columns); gradients: the last gradients a node keeps of every
    learned array (probes read them); scratch: a rule's per-step buffer (the generated
    DFA's feedback tile), on the one layer whose buffer is the largest: the engine handles
    one message at a time, so the buffers of different layers never coexist."""

    name: str
    kind: str
    out_shape: tuple[int, ...]
    parameters: int
    weights: int  # bytes
    feedback: int
    optimizer: int
    activations: int
    inverses: int = 0
    gradients: int = 0
    scratch: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.feedback + self.optimizer + self.activations + self.gradients + self.scratch


def plan(network: Network, batch: int) -> list[LayerPlan]:
    """One row per layer for training at `batch` examples per step."""
    size = network.backend.dtype.itemsize
    scratch_values = getattr(network.rule, "scratch_values", lambda name: 0)
    # A handler's buffer lives while it handles one message, and messages are handled one at a
    # time: a step's peak is the largest layer's buffer, counted once (at the first such layer).
    buffers = {node.name: scratch_values(node.name) for node in network.nodes}
    largest = max(buffers, key=buffers.__getitem__, default=None)
    rows = []
    for node in network.nodes:
        layer = node.layer
        weights = sum(int(p.size) for p in layer.params.values())
        feedback = sum(int(p.size) for p in node.state.arrays.values())
        inverses = sum(int(node.state.arrays[k].size) for keys in node.state.learned.values() for k in keys)
        # every array of every parameter group the rule declares and learns here has an Adam
        learned = sum(int(p.size) for _, opt in node.optimizers() for p in opt.params.values())
        activations = batch * (int(np.prod(layer.in_shape)) + 2 * layer.units + layer.kept_per_example())
        rows.append(LayerPlan(node.name, type(layer).__name__, layer.out_shape, weights, weights * size,
                              feedback * size, 3 * learned * size, activations * size, inverses * size,
                              learned * size, buffers[node.name] * size if node.name == largest else 0))
    return rows


#: Memory sizes `format_plan` fits a batch into: a 16 GB V100, an 80 GB A100/H100, a 141 GB H200.
CARDS = (("16 GB", 16 * 10**9), ("80 GB", 80 * 10**9), ("141 GB", 141 * 10**9))


def largest_batch(rows: list[LayerPlan], batch: int, capacity: int) -> int:
    """The largest batch whose plan total fits `capacity` bytes (activations grow with the
    batch, the rest does not); 0 if even the parameters do not fit."""
    per_example = sum(r.activations for r in rows) / batch
    fixed = sum(r.total - r.activations for r in rows)
    return max(0, int((capacity - fixed) // per_example)) if per_example else 0


#: A numpy training step on one CPU thread takes about parameters x (FIXED + PER_EXAMPLE x batch)
#: seconds: fitted to the full-size ImageNet-LC SDTP steps at batch 8 and 128, as `localnet run`
#: takes them (freed host memory kept for reuse; docs/performance.md, "ImageNet LC at full size
#: on the CPU"). The fixed part is the per-step work on weight-sized arrays (Adam, gradients,
#: inverses); BP's is smaller, its per-example part about the same.
CPU_SECONDS_FIXED = 1.24e-8
CPU_SECONDS_PER_EXAMPLE = 4.6e-10


def cpu_speed_note(config: Any, input_shape: Sequence[int], reason: str) -> str:
    """The line `backend = "auto"` prints when it falls back to numpy: why, and the expected
    speed of this config's step on one CPU thread (more threads help the BLAS part only)."""
    rows = estimate_layers(config, input_shape)
    params = sum(r.parameters for r in rows) if rows else 0
    batch = config.data.batch_size
    seconds = params * (CPU_SECONDS_FIXED + CPU_SECONDS_PER_EXAMPLE * batch)
    return (f"backend auto: no usable GPU ({reason}): training on numpy (the CPU); expect about "
            f"{seconds:,.1f} s per step of {batch} ({batch / max(seconds, 1e-9):,.1f} examples/s) on one thread "
            f"for these {params:,} parameters (docs/performance.md)")


def format_plan(rows: list[LayerPlan], batch: int, backend_note: str) -> str:
    def mib(n: int) -> str:
        return f"{n / 2**20:9.1f}"

    fields = ("weights", "feedback", "inverses", "optimizer", "gradients", "activations", "scratch")
    lines = [f"{'layer':<8} {'type':<17} {'output shape':<15} {'params':>11} {'weights':>9} {'feedback':>9} "
             f"{'(invs)':>9} {'adam':>9} {'grads':>9} {'acts@' + str(batch):>9} {'scratch':>9}  (MiB)"]
    for r in rows:
        lines.append(f"{r.name:<8} {r.kind:<17} {r.out_shape!s:<15} {r.parameters:>11,} "
                     + " ".join(mib(getattr(r, f)) for f in fields))
    lines.append(f"{'total':<8} {'':<17} {'':<15} {sum(r.parameters for r in rows):>11,} "
                 + " ".join(mib(sum(getattr(r, f) for r in rows)) for f in fields))
    lines.append(f"training memory: {sum(r.total for r in rows) / 2**20:.1f} MiB at batch {batch} "
                 f"(feedback includes the learned inverses; {backend_note})")
    fits = ", ".join(f"{name}: {largest_batch(rows, batch, cap):,}" for name, cap in CARDS)
    lines.append(f"largest batch that fits (GB = 10^9 bytes, arrays only): {fits}")
    return "\n".join(lines)


# -- before anything is allocated: the same sizes from the config alone -----------------


@dataclass(frozen=True)
class LayerEstimate:
    """One layer's shapes and forward parameter count, computed from its spec (exact Python
    ints, so absurd sizes do not overflow)."""

    where: str  # "layers.N" in the config, as --set names its [[layers]] table
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    parameters: int
    kept: int = 0  # values per example a training step keeps besides x, a, h (a patch layer's im2col)


def estimate_layers(config: Any, input_shape: Sequence[int]) -> list[LayerEstimate] | None:
    """Per-layer shapes, forward parameter counts and kept values of `config`'s network on
    inputs of `input_shape`, without building it: each layer spec's own `estimate`. None if
    a layer type has none. A layer that cannot apply to its input (a patch layer on a flat
    input, a kernel larger than the image) is a ConfigError naming it.
    """
    from .registry import LAYERS  # noqa: PLC0415 - filled once the layers package is imported

    rows, shape = [], tuple(int(n) for n in input_shape)
    for index, spec in enumerate(config.layers):
        where, kind = config.layer_key(index), LAYERS.name_of(spec, "Spec")
        if not hasattr(spec, "estimate"):
            return None
        try:
            out, params, kept = spec.estimate(shape)
        except ValueError as err:
            raise ConfigError(f"{where} ({kind}) {err}") from None
        rows.append(LayerEstimate(where, kind, shape, tuple(out), params, kept))
        shape = tuple(out)
    return rows


def training_bytes(config: Any, rows: list[LayerEstimate], batch: int) -> int:
    """A lower bound of what training needs: forward weights, their Adam state (m, v and a
    scratch buffer) and the activations a step keeps (x, a, h per layer, patch columns) at `batch`, in the
    config's dtype. Feedback parameters are left out (they only add to it); for a rule
    without them (BP) this is exactly `plan`'s total."""
    size = np.dtype(config.dtype).itemsize
    weights = sum(r.parameters for r in rows)
    activations = batch * sum(math.prod(r.in_shape) + 2 * math.prod(r.out_shape) + r.kept for r in rows)
    return (4 * weights + activations) * size


def evaluation_bytes(config: Any, rows: list[LayerEstimate]) -> int:
    """A lower bound of what evaluation needs at data.eval_batch_size: the weights and their
    Adam state (still held) and the largest layer's input, output and patch columns."""
    size = np.dtype(config.dtype).itemsize
    widest = max((math.prod(r.in_shape) + math.prod(r.out_shape) + r.kept for r in rows), default=0)
    return (4 * sum(r.parameters for r in rows) + config.data.eval_batch_size * widest) * size


def record_bytes(config: Any, rows: list[LayerEstimate]) -> int:
    """What the recorder's buffers hold at once when recording is on: `record.chunk` steps of
    every recorded layer's tensor probes (`record.examples` rows of its widest message) and
    series, twice (the chunk being filled and the one being flushed)."""
    record = config.record
    if not record.enabled:
        return 0
    from .record import MESSAGE_PROBES  # noqa: PLC0415

    names = set(record.layers) or {f"layer{i + 1}" for i in range(len(rows))}
    tensors = sum(probe in MESSAGE_PROBES for probe in record.probes)
    series = len(record.probes) - tensors + int(record.angle)
    per_step = sum(record.examples * max(math.prod(r.in_shape), math.prod(r.out_shape)) * tensors + series
                   for i, r in enumerate(rows) if f"layer{i + 1}" in names)
    return 2 * record.chunk * per_step * np.dtype(config.dtype).itemsize


def physical_memory(backend: str = "numpy") -> int | None:
    """Bytes of memory the backend's arrays live in: host RAM, or this container's cgroup
    limit when lower (numpy), the GPU's (CuPy, when one answers); None when unknown."""
    if backend == "cupy":
        try:
            import cupy  # noqa: PLC0415 - optional, GPU machines only

            return int(cupy.cuda.Device().mem_info[1])
        except Exception:
            pass
    try:
        ram = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        ram = None
    # A container's limit, when lower than the machine's RAM, is what the kernel enforces.
    known = [x for x in (ram, cgroup_memory_limit()) if x is not None]
    return min(known) if known else None


def cgroup_memory_limit(root: str = "/sys/fs/cgroup") -> int | None:
    """The container's memory limit in bytes, as its cgroup root shows it (v2 `memory.max`,
    v1 `memory/memory.limit_in_bytes`); None when there is none or it cannot be read."""
    for name in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            with open(os.path.join(root, name)) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:  # v1 writes "no limit" as ~2^63
            return int(text)
        return None
    return None


def check_memory(config: Any, input_shape: Sequence[int], limit: int | None = None,
                 backend: str | None = None) -> None:
    """ConfigError (exit 2) if training `config` cannot fit in memory: the lower bound of
    `training_bytes` at data.batch_size exceeds `limit` (default: this machine's memory for
    the config's backend), or evaluation at data.eval_batch_size does, or training plus the
    recorder's buffers (record.chunk steps) do. Also checks the layer shapes chain. Nothing is allocated."""
    rows = estimate_layers(config, input_shape)
    if rows is None:
        return
    limit = limit if limit is not None else physical_memory(backend or config.backend)
    if limit is None:
        return
    need = training_bytes(config, rows, config.data.batch_size)
    where = "GPU memory" if (backend or config.backend) == "cupy" else "memory"
    if need > limit:
        biggest = max(rows, key=lambda r: r.parameters)
        raise ConfigError(
            f"this network needs at least {size_text(need)} to train ({sum(r.parameters for r in rows):,} parameters, "
            f"the largest {biggest.where} {biggest.kind} with {biggest.parameters:,}, plus Adam state and "
            f"activations at batch_size {config.data.batch_size}), more than the {size_text(limit)} of {where} here: "
            "reduce units/channels or batch_size")
    evaluation, record = evaluation_bytes(config, rows), record_bytes(config, rows)
    if evaluation > limit:
        raise ConfigError(f"evaluating this network at data.eval_batch_size {config.data.eval_batch_size} needs at "
                          f"least {size_text(evaluation)}, more than the {size_text(limit)} of {where} here: "
                          "lower data.eval_batch_size")
    if need + record > limit:
        raise ConfigError(f"recording needs at least {size_text(record)} of buffers (record.chunk {config.record.chunk} "
                          f"steps of record.examples {config.record.examples} rows per layer) on top of training's "
                          f"{size_text(need)}, more than the {size_text(limit)} of {where} here: lower record.chunk, "
                          "record.examples or the layers recorded")


def build_checked(config: Any, backend: Any, input_shape: Sequence[int], num_classes: int,
                  limit: int | None = None) -> Network:
    """`build_network` after `check_memory`; what odd values still make numpy raise while
    building (ValueError, OverflowError, MemoryError) becomes a one-line ConfigError."""
    from .network import build_network  # noqa: PLC0415 - network imports the layers that import plan

    check_memory(config, input_shape, limit, backend.name)
    try:
        return build_network(config, backend, input_shape, num_classes)
    except ConfigError:
        raise
    except MemoryError:
        raise ConfigError("out of memory while building the network: reduce units/channels or batch_size") from None
    except (ValueError, OverflowError) as err:
        raise ConfigError(f"cannot build the network from this config: {' '.join(str(err).split())}") from None
