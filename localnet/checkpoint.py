"""Checkpoints: everything needed to continue a run exactly, in an npz (never pickle).

A checkpoint holds every parameter (forward, feedback, inverses), every optimizer's state,
each layer's noise-generator state, and the trainer's position (epoch, pass, batch, step,
running sums, augmentation-generator state) plus the metrics so far. Files are written
atomically (temporary file, fsync, rename) as checkpoints/ckpt-<step>.npz; the newest
`keep` are kept. Loading uses allow_pickle=False and skips a corrupt or partial file
with a warning (zip CRCs catch flipped bytes); a checkpoint is restored only once it has
been read and checked whole, so a broken one leaves the network untouched. A state whose
parameters hold NaN/Inf is never written: the last good checkpoint stays the newest.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LocalnetError
from .guard import DivergenceError
from .network import Network
from .train import EpochMetrics, Position
from .writes import write_atomic, writing

FOLDER = "checkpoints"


def _text(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)


def _untext(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode())


def optimizer_tag(group: str) -> str:
    """The key prefix of a parameter group's Adam state: "adam" (forward), "inverse_adam", ..."""
    return "adam" if group == "forward" else f"{group}_adam"


def network_state(network: Network) -> dict[str, np.ndarray]:
    """Host copies of every array that defines the network's learning state: parameters and
    rule-state arrays, the Adam state of every parameter group its rule declares, and each
    rule state's host noise generator."""
    to_host, state = network.backend.to_host, {}
    for name, value in network.parameters().items():
        state[f"param/{name}"] = to_host(value)
    for node in network.nodes:
        for group, opt in node.optimizers():
            tag = optimizer_tag(group)
            state[f"{tag}/{node.name}/t"] = np.array(opt.t)
            for key, value in opt.state().items():
                state[f"{tag}/{node.name}/{key}"] = to_host(value)
        if isinstance(node.state.rng, np.random.Generator):
            state[f"rng/{node.name}"] = _text(node.state.rng.bit_generator.state)
    return state


def own_prefixes(network: Network) -> set[str]:
    """First key components this module writes: everything else in a checkpoint belongs to
    an observer (`Checkpointer.extra`)."""
    groups = {group.name for group in network.rule.modifies}
    return {"param", "rng", "trainer", *(optimizer_tag(group) for group in groups)}


def restore_network(network: Network, state: dict[str, np.ndarray]) -> None:
    """Write a checkpoint's arrays back into the network, in place. Every array is checked
    (present, same shape and dtype) before the first is written, so a checkpoint that does
    not fit raises (KeyError, ValueError) and changes nothing."""
    copies: list[tuple[Any, np.ndarray]] = []

    def plan(target: Any, name: str) -> None:
        value = state[name]
        if tuple(target.shape) != tuple(value.shape) or np.dtype(target.dtype) != value.dtype:
            raise ValueError(f"{name} is {value.dtype} {value.shape}, the network expects "
                             f"{np.dtype(target.dtype)} {tuple(target.shape)}")
        copies.append((target, value))

    for name, target in network.parameters().items():
        plan(target, f"param/{name}")
    steps, rngs = [], []
    for node in network.nodes:
        for group, opt in node.optimizers():
            tag = optimizer_tag(group)
            steps.append((opt, int(state[f"{tag}/{node.name}/t"])))
            for key, target in opt.state().items():
                plan(target, f"{tag}/{node.name}/{key}")
        rng = node.state.rng
        if isinstance(rng, np.random.Generator):
            rng_state = _untext(state[f"rng/{node.name}"])
            type(rng.bit_generator)().state = rng_state  # a malformed state raises here, not half-way
            rngs.append((rng, rng_state))
    for target, value in copies:
        target[...] = network.backend.to_device(value)
    for opt, t in steps:
        opt.t = t
    for rng, rng_state in rngs:
        rng.bit_generator.state = rng_state


def save_params(network: Network, path: Path) -> None:
    """All parameters (forward and feedback) as host arrays in an npz, keys "layerN/W" etc."""
    backend = network.backend
    arrays = {k: backend.to_host(v) for k, v in network.parameters().items()}
    write_atomic(path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]  # numpy's stub, as below


def checkpoint_bytes(network: Network) -> int:
    """Bytes of one checkpoint's arrays (parameters, rule state and Adam state), counted
    without copying them to the host; the npz adds a few KiB of headers and history."""
    total = sum(int(value.nbytes) for value in network.parameters().values())
    for node in network.nodes:
        for _, opt in node.optimizers():
            total += sum(int(value.nbytes) for value in opt.state().values())
    return total


def run_disk_bytes(network: Network, keep: int) -> int:
    """What a run directory of `network` grows to: `keep` checkpoints plus the one being
    written (its temporary file exists before the oldest is removed) and params.npz."""
    params = sum(int(value.nbytes) for value in network.parameters().values())
    return (keep + 1) * checkpoint_bytes(network) + params


class Checkpointer:
    """Writes checkpoints of `network` into run_dir/checkpoints and finds the newest valid one."""

    def __init__(self, run_dir: Path, network: Network, keep: int = 3, warn: Callable[[str], None] = print) -> None:
        self.folder = Path(run_dir) / FOLDER
        self.network = network
        self.keep = keep
        self.warn = warn
        self.history: list[EpochMetrics] = []
        #: observers' state saved with each checkpoint (name -> array; the recorder's unflushed
        #: rows), and what the loaded checkpoint held of it: every key outside `own_prefixes`
        self.extra: Callable[[], dict[str, np.ndarray]] | None = None
        self.loaded_extra: dict[str, np.ndarray] = {}

    def __call__(self, position: Position, history: list[EpochMetrics] | None) -> None:
        """The Trainer's checkpoint hook (mid-epoch: history None, the last epoch-end history is used)."""
        if history is not None:
            self.history = list(history)
        self.save(position)

    def clear(self) -> None:
        """Remove every checkpoint file (a fresh run into a --force-d directory: an old run's
        checkpoints must never be resumed as this run's)."""
        for pattern in ("ckpt-*.npz", "ckpt-*.npz.corrupt", ".ckpt-*.tmp"):
            for path in self.folder.glob(pattern):
                path.unlink(missing_ok=True)

    def any_files(self) -> bool:
        """Whether any checkpoint file (valid or not) is there."""
        return any(self.folder.glob("ckpt-*.npz"))

    def save(self, position: Position) -> Path:
        with writing(self.folder):
            self.folder.mkdir(parents=True, exist_ok=True)
        state = network_state(self.network)
        for key, value in state.items():
            if key.startswith("param/") and not np.isfinite(value).all():
                layer, _, name = key.removeprefix("param/").partition("/")
                raise DivergenceError(
                    f"training diverged: parameter {name} of {layer} holds NaN/Inf at step {position.step}; "
                    "it was not checkpointed (the last good checkpoint stays): lower the learning rate(s), "
                    "then rerun or resume")
        if self.extra is not None:
            state.update(self.extra())
        state["trainer/position"] = _text(dataclasses.asdict(position))
        state["trainer/history"] = _text([dataclasses.asdict(row) for row in self.history])
        path = self.folder / f"ckpt-{position.step:010d}.npz"
        write_atomic(path, lambda handle: np.savez(handle, **state))  # type: ignore[arg-type]  # numpy's stub: **kwds may not be arrays named allow_pickle
        for old in sorted(self.folder.glob("ckpt-*.npz"))[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def load_latest(self) -> tuple[Position, list[EpochMetrics], Path]:
        """Restore the newest valid checkpoint into the network; skip broken ones with a warning."""
        for stale in self.folder.glob(".ckpt-*.tmp"):  # a write cut short by a kill
            stale.unlink(missing_ok=True)
        candidates = sorted(self.folder.glob("ckpt-*.npz"), reverse=True)
        for path in candidates:
            try:
                # Open the file ourselves: np.load leaks its handle when the zip is corrupt.
                with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                    state = {key: data[key] for key in data.files}
                position = Position(**_untext(state["trainer/position"]))
                history = [EpochMetrics(**row) for row in _untext(state["trainer/history"])]
                restore_network(self.network, state)
            except Exception as err:
                # (BadZipFile, a CRC mismatch, EOFError, "encrypted" or "unsupported compression" from a
                # flipped flag bit, a MemoryError from a flipped shape, ...): this checkpoint is unusable.
                # Moved aside (kept for a post-mortem): it must not count among the `keep` newest.
                aside = path.with_name(path.name + ".corrupt")
                try:
                    os.replace(path, aside)
                except OSError:
                    aside = path
                self.warn(f"warning: skipping checkpoint {path} ({type(err).__name__}: "
                          f"{' '.join(str(err).split())}){'; moved to ' + aside.name if aside != path else ''}")
                continue
            self.history = history
            own = own_prefixes(self.network)
            self.loaded_extra = {key: value for key, value in state.items() if key.partition("/")[0] not in own}
            return position, history, path
        raise LocalnetError(f"no valid checkpoint in {self.folder}: start a new run instead of --resume")
