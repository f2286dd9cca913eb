"""Shared pieces of the recording tests: tiny configs, a training driver that calls the
recorder's per-step hook the way the Trainer does, and recorded run directories.

Imported as `record.recording_helpers` (tests/ is on the path; tests/conftest.py owns the
name `conftest`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from helpers import tiny_config

from localnet import Trainer, build_network, get_backend
from localnet.config import config_to_dict, dump_toml
from localnet.record import RecordConfig, Recorder
from localnet.run import load_data
from localnet.seeding import rng_for
from localnet.train import batches

ALL_PROBES = ("forward", "feedback", "target", "act_mean", "act_std", "update_norm", "weight_norm",
              "inverse_error", "target_gap")


def small_config(rule: str, hidden: tuple[int, ...] = (12, 12), batch_size: int = 8, **rule_options: Any) -> Any:
    """A tiny MNIST-shaped config: dense tanh layers, softmax over 10 classes."""
    return tiny_config(rule, list(hidden), 10, rule_options=rule_options or None, seed=3,
                       data={"batch_size": batch_size, "eval_batch_size": 16}, train={"epochs": 2})


def drive_epoch(trainer: Trainer, x: np.ndarray, y: np.ndarray, epoch: int, recorder: Recorder | None) -> None:
    """One epoch like Trainer.train_epoch (each pass of the schedule, shuffled by its own
    stream), calling `recorder.end_step(step, epoch)` after every step: the per-step hook
    the trainer calls once the recorder is wired in."""
    config, network = trainer.config, trainer.network
    for number, plan in enumerate(network.rule.passes()):
        order = rng_for(config.seed, "data", f"epoch{epoch}", f"pass{number}").permutation(len(x))
        for index in batches(len(x), config.data.batch_size, order):
            xd, _, onehot = trainer.to_device(x[index], y[index])
            network.step(trainer.step_count, xd, onehot, plan)
            if recorder is not None:
                recorder.end_step(trainer.step_count, epoch)
            trainer.step_count += 1


def synthetic_arrays(n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n MNIST-shaped uint8 noise images and cycling labels 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), np.arange(n) % 10


def train(config: Any, record: RecordConfig | None, path: Path | None, n: int = 20, epochs: int = 2,
          dtype: str = "float32", taps: tuple[Any, ...] = ()) -> tuple[Any, Recorder | None]:
    """Build and train `config` on synthetic arrays, recording into `path` when `record`;
    `taps` are added to the engine first (they see each delivery before the recorder)."""
    backend = get_backend("numpy", dtype)
    network = build_network(config, backend, (28, 28), 10)
    for tap in taps:
        network.engine.add_tap(tap)
    recorder = Recorder.for_run(config, network, path, record=record) if record is not None else None
    trainer = Trainer(config, network, backend, 10)
    x, y = synthetic_arrays(n)
    for epoch in range(1, epochs + 1):
        drive_epoch(trainer, x, y, epoch, recorder)
    if recorder is not None:
        recorder.close()
    return network, recorder


def make_run_dir(path: Path, config: Any, record: RecordConfig | None, data_dir: Path, epochs: int = 2) -> Path:
    """A run directory as `localnet run` writes it (config.toml, metrics.jsonl) plus the
    record.zarr when `record`, trained on the synthetic files in data_dir."""
    path.mkdir(parents=True)
    (path / "config.toml").write_text(dump_toml(config_to_dict(config)))
    (x, y, xt, yt), dataset = load_data(config, str(data_dir))
    backend = get_backend("numpy", "float32")
    network = build_network(config, backend, dataset.input_shape, dataset.num_classes)
    recorder = Recorder.for_run(config, network, path / "record.zarr", record=record) if record else None
    trainer = Trainer(config, network, backend, dataset.num_classes)
    with (path / "metrics.jsonl").open("w") as metrics:
        for epoch in range(1, epochs + 1):
            drive_epoch(trainer, x, y, epoch, recorder)
            train_loss, train_error = trainer.evaluate(x, y)
            test_loss, test_error = trainer.evaluate(xt, yt)
            metrics.write(json.dumps({"epoch": epoch, "train_loss": train_loss, "train_error": train_error,
                                      "test_loss": test_loss, "test_error": test_error, "seconds": 1.0,
                                      "examples_per_second": float(len(x))}) + "\n")
    if recorder is not None:
        recorder.close()
    return path
