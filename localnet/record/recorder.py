"""The recorder: an observer of a Network that streams per-layer probes into a Zarr store.

Two hooks see a training step: the engine tap (every delivered message; on recorded steps
the message probes copy their kept batch rows, the target gap is measured, and for the
angle the forward weights are snapshotted as each forward message arrives), and
`end_step(step, epoch)`, which the trainer calls after each `network.step` (derived series
from the nodes' caches, the side BP analysis, the step's coordinates).

Observers never perturb: the recorder reads nodes and payloads and writes only its own
buffers; its only randomness is the seeded "record" stream that picks the kept batch rows.
Values stay on the backend in one buffer per (layer, probe) of `chunk` rows (rows.py); a
flush copies them all to the host at once and appends them to the store as whole chunks
(see store.py), with CuPy from a writer thread while training goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

import numpy as np

from ..errors import ConfigError, LocalnetError
from ..messages import Message
from ..registry import nearest
from ..seeding import rng_for
from .angle import update_angles
from .config import MESSAGE_PROBES, SERIES_PROBES, RecordConfig
from .rows import RowBuffers
from .store import RecordWriter, versions

INPUT = "input"  # the source node that injects inputs and labels (network.INPUT)


class Recorder:
    """Records `network` into the store at `path` per `config` (see RecordConfig).

    seed: the run's seed (the kept batch rows come from its "record" stream); batch_size:
    the training batch size (rows are drawn from range(batch_size)); attrs: extra root
    attributes (the resolved config, ...); on_flush(rows) is called after each flush;
    resume_step: continue an existing store at `path` from this training step (a resumed
    run: rows from this step on are dropped), instead of creating a new one; background:
    write flushed chunks from a writer thread while training goes on (default: with CuPy,
    whose host CPU is idle; on numpy, training's BLAS threads already fill the cores and a
    concurrent writer only competes with them).
    """

    def __init__(self, config: RecordConfig, network: Any, path: str | Path, *, seed: int, batch_size: int,
                 attrs: Mapping[str, Any] | None = None, on_flush: Callable[[int], None] | None = None,
                 resume_step: int | None = None, background: bool | None = None) -> None:
        self.config = config
        self.network = network
        self.backend = network.backend
        self.xp = self.backend.xp
        self.nodes = {node.name: node for node in network.nodes}
        for name in config.layers:
            if name not in self.nodes:
                raise ConfigError(f"record.layers: this network has no layer {name!r}{nearest(name, list(self.nodes))}; "
                                  f"its layers are {', '.join(self.nodes)}")
        self.layers = tuple(config.layers) or tuple(self.nodes)
        self._recorded = frozenset(self.layers)
        self.examples = np.sort(rng_for(seed, "record").choice(batch_size, min(config.examples, batch_size),
                                                               replace=False)).astype(np.int64)
        self._examples_device = self.backend.to_device(self.examples)
        self._tensors = frozenset(p for p in config.probes if p in MESSAGE_PROBES)
        self._series = tuple(p for p in config.probes if p in SERIES_PROBES)
        self.on_flush = on_flush
        layer_attrs = {name: self._layer_attrs(self.nodes[name]) for name in self.layers}
        root_attrs = {"record": dataclasses.asdict(config), "seed": seed, "batch_size": batch_size,
                      "examples": self.examples.tolist(), "versions": versions(self.backend.name),
                      "backend": self.backend.name, "dtype": str(np.dtype(self.backend.dtype)), **(attrs or {})}
        if resume_step is not None and (Path(path) / "zarr.json").is_file():
            self.writer = RecordWriter.resume(path, resume_step)
            old = self.writer.root.attrs
            if old["layers"] != list(self.layers) or old["examples"] != root_attrs["examples"] \
                    or old["record"] != json.loads(json.dumps(root_attrs["record"])):
                raise LocalnetError(f"cannot continue the recording in {path}: it was made with other [record] "
                                    "settings or another seed/batch size; record into a new run directory")
            self.writer.set_attrs(**root_attrs)  # the resumed run's config (e.g. more epochs) and versions
        else:
            self.writer = RecordWriter(path, root_attrs, layer_attrs, self.examples, config.chunk, self.backend.dtype)
        self.rows = RowBuffers(self.backend, config.chunk)
        self._step: int | None = None  # the recorded step whose messages are arriving
        self._phases: list[str] = []
        self._before: dict[str, Any] = {}  # node -> its grads dict before the step (updated: replaced)
        self._weights: dict[str, Any] = {}  # W snapshots at the forward pass (angle only)
        self._labels: Any = None
        self.seconds = {"record": 0.0, "angle": 0.0, "flush": 0.0, "write": 0.0}
        self.background = self.backend.name == "cupy" if background is None else background
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self.recorded_steps = 0
        self.flushes = 0
        self.closed = False
        self._detach = network.engine.add_tap(self._tap)

    @classmethod
    def for_run(cls, run_config: Any, network: Any, path: str | Path, record: RecordConfig | None = None,
                **kwargs: Any) -> Recorder:
        """A recorder for a RunConfig (record: defaults to run_config.record), with the
        resolved config, the run name and the rule in the store's root attributes."""
        from ..config import config_to_dict  # noqa: PLC0415 - config imports record.config

        resolved = config_to_dict(run_config)
        record = record if record is not None else run_config.record
        attrs = {"config": resolved, "name": run_config.name, "rule": resolved["rule"]["name"]}
        return cls(record, network, path, seed=run_config.seed, batch_size=run_config.data.batch_size,
                   attrs=attrs, **kwargs)

    @staticmethod
    def _layer_attrs(node: Any) -> dict[str, Any]:
        layer = node.layer
        return {"layer": node.name, "type": type(layer).__name__, "role": "output" if layer.is_output else "hidden",
                "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
                "feedback": sorted(node.state.arrays)}

    # -- the tap: message probes ---------------------------------------------------------

    def _tap(self, message: Message) -> None:
        step = message.step
        if step < 0 or step % self.config.every or message.phase == "evaluate":
            return  # the common case: one modulo per delivery
        start = time.perf_counter()
        if step != self._step:
            self._begin(step)
        if message.phase not in self._phases:
            self._phases.append(message.phase)
        kind, src, dst = message.kind, message.src, message.dst
        if kind == "forward":
            node = self.nodes.get(dst)
            if self.config.angle and node is not None and "W" in node.params:
                self._weights[dst] = node.params["W"].copy()  # before any update of this step
            if src in self._recorded and "forward" in self._tensors:
                self._keep(src, "forward", message.payload)
        elif dst in self._recorded:
            if kind in self._tensors:
                self._keep(dst, kind, message.payload)
            if kind == "target" and "target_gap" in self._series:
                h = self.nodes[dst].h  # still the forward pass's: the tap runs before the handler
                diff = (message.payload - h).reshape(h.shape[0], -1)
                self.rows.buffer(dst, "target_gap", ())[self.rows.row] = self.xp.sqrt((diff * diff).sum(axis=1)).mean()
        if kind == "target" and src == INPUT:
            self._labels = message.payload
        self.seconds["record"] += time.perf_counter() - start

    def _begin(self, step: int) -> None:
        self._step, self._phases, self._weights, self._labels = step, [], {}, None
        self._before = {name: node.grads for name, node in self.nodes.items()}

    def _keep(self, layer: str, probe: str, payload: Any) -> None:
        """Copy the kept batch rows of `payload` into this row of the probe's buffer."""
        buffer, row = self.rows.buffer(layer, probe, (len(self.examples), *payload.shape[1:])), self.rows.row
        if payload.shape[0] > self.examples[-1]:
            buffer[row] = payload[self._examples_device]
        else:  # a short last batch: rows past its end stay NaN (rows are sorted)
            k = int(np.searchsorted(self.examples, payload.shape[0]))
            buffer[row, :k] = payload[self._examples_device[:k]]

    # -- the per-step hook: derived probes ------------------------------------------------

    def end_step(self, step: int, epoch: int) -> None:
        """Called by the trainer after each `network.step(step, ...)`; records the step if
        it is one of `every`, and flushes when `chunk` steps are buffered."""
        if self.closed or not self.config.records(step):
            return
        start = time.perf_counter()
        if step != self._step:
            self._begin(step)
        row = self.rows.row
        updated = [name for name in self.layers if self.nodes[name].grads is not self._before[name]]
        for name in self.layers:
            for probe, value in self._derive(self.nodes[name], name in updated).items():
                self.rows.buffer(name, probe, ())[row] = value
        self.seconds["record"] += time.perf_counter() - start
        if self.config.angle and self._labels is not None:
            self._angles(updated)
        full = self.rows.end_row(step, epoch, "+".join(self._phases))
        self._step, self._weights, self._labels, self._before = None, {}, None, {}
        self.recorded_steps += 1
        if full:
            self.flush()

    def _derive(self, node: Any, updated: bool) -> dict[str, Any]:
        """The derived series that apply to `node` (0-d values on the backend); target_gap is
        measured in the tap, when the target arrives."""
        xp, wanted, out = self.xp, self._series, {}
        h = node.h
        if h is not None and ("act_mean" in wanted or "act_std" in wanted):
            flat = h.reshape(-1)
            mean = flat.mean()
            out["act_mean"] = mean
            # E[h^2] - mean^2 with one BLAS dot: a third of xp.std's passes; activations are
            # O(1) with a spread comparable to their mean, so the difference loses little.
            out["act_std"] = xp.sqrt(xp.maximum(xp.dot(flat, flat) / flat.size - mean * mean, 0))
        if "weight_norm" in wanted and "W" in node.params:
            out["weight_norm"] = xp.linalg.norm(node.params["W"].reshape(-1))
        if "update_norm" in wanted and updated and "W" in node.grads:
            out["update_norm"] = xp.linalg.norm(node.grads["W"].reshape(-1))
        rule = self.network.rule
        for probe in wanted:
            if probe in rule.probes:  # what the rule declares it computes (e.g. a TP inverse's error)
                value = rule.probe(node.view(), probe)
                if value is not None:
                    out[probe] = value
        return {probe: value for probe, value in out.items() if probe in wanted}

    def _angles(self, updated: list[str]) -> None:
        start = time.perf_counter()
        nodes = list(self.network.nodes)
        if all(n.name in self._weights for n in nodes if "W" in n.params):
            for name, angle in update_angles(nodes, self._weights, self._labels, updated).items():
                self.rows.buffer(name, "angle", ())[self.rows.row] = angle
        self.backend.synchronize()  # so that the reported cost is the GPU's too
        self.seconds["angle"] += time.perf_counter() - start

    # -- checkpoints: the unflushed rows travel in the run's checkpoint -------------------

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """Host copies of the rows buffered since the last flush and their coordinates, for
        the run's checkpoint: a resumed run restores them (`restore`) instead of the run
        flushing a partial chunk before every checkpoint (a flush costs per array, not per
        row). Keys: "record/coords" (JSON text), "record/buffer/LAYER/PROBE" (rows, ...)."""
        return self.rows.state()

    @staticmethod
    def resume_from(state: Mapping[str, np.ndarray], step: int) -> int:
        """The training step to cut the store at when resuming from a checkpoint with this
        `state` taken at `step`: the first buffered step (its rows come back from the
        checkpoint; copies a later flush wrote are dropped), or `step` if none was buffered."""
        first = RowBuffers.first_step(state)
        return step if first is None else first

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Put back the buffered rows of `checkpoint_state` (a resumed run, right after
        construction with resume_step = `resume_from(state, step)`)."""
        self.rows.restore(state)

    # -- flushing --------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the buffered rows: one host copy of every buffer together, then whole
        chunks, in line or by the writer thread (at most one write in flight; `close` and
        `wait` wait for it)."""
        if self.rows.row == 0:
            return
        start = time.perf_counter()
        shapes, coords, data = self.rows.take()
        self.flushes += 1
        self.wait()  # the previous write first: rows land in order, and host memory stays bounded
        if self.background:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="localnet-record")
            self._pending = self._pool.submit(self._write, shapes, coords, data)
        else:
            self._write(shapes, coords, data)
        self.seconds["flush"] += time.perf_counter() - start

    def _write(self, shapes: dict[tuple[str, str], tuple[int, ...]], coords: dict[str, np.ndarray],
               data: dict[tuple[str, str], np.ndarray]) -> None:
        start = time.perf_counter()
        for key, shape in shapes.items():
            self.writer.ensure(*key, shape)
        self.writer.append(coords, data)
        self.seconds["write"] += time.perf_counter() - start
        if self.on_flush is not None:
            self.on_flush(self.writer.rows)

    def wait(self) -> None:
        """Wait for the write in flight (re-raising its error, if it failed)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            start = time.perf_counter()
            pending.result()
            self.seconds["flush"] += time.perf_counter() - start

    def cost(self) -> dict[str, Any]:
        """Seconds spent by the training thread recording (taps and derived probes; flushes:
        the host copy, and the writes unless `background`), in the angle analysis, and
        writing to zarr (write_seconds, wherever it ran), with the counts; also written to the
        store's root attribute `cost`."""
        return {"recorded_steps": self.recorded_steps, "flushes": self.flushes, "rows": self.writer.rows,
                "background": self.background,
                **{f"{name}_seconds": round(value, 6) for name, value in self.seconds.items()}}

    def close(self, complete: bool = True) -> None:
        """Flush what is buffered, wait for the writes, stop tapping, mark the store complete
        (or not)."""
        if self.closed:
            return
        self.closed = True
        self._detach()
        try:
            self.flush()
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
        self.writer.set_attrs(complete=complete, cost=self.cost())

    def abandon(self) -> None:
        """`close(complete=False)` for a run that is failing anyway: what was flushed stays
        readable, and a write that fails now too (a full disk) is not raised over the error
        already on its way."""
        from ..writes import WriteError  # noqa: PLC0415

        with contextlib.suppress(WriteError):
            self.close(complete=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(complete=kind is None)
