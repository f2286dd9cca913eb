"""The training loop: data in, steps through the network, metrics out, a run directory saved.

Host-device copies happen here at two places only: each minibatch goes to the backend
once (uint8 images and int labels), and metric sums come back once per epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import Backend
from .config import RunConfig
from .network import Network
from .data.augment import augment_batch
from .schedule import learns_from_labels
from .seeding import rng_for


@dataclass(frozen=True)
class EpochMetrics:
    """One row of metrics.jsonl. Errors are percentages; train_loss is the running mean
    over the epoch's minibatches (weights changing), train_error a clean pass afterwards."""

    epoch: int
    train_loss: float
    train_error: float
    test_loss: float
    test_error: float
    seconds: float
    examples_per_second: float


def batches(n: int, batch_size: int, order: np.ndarray | None) -> Iterator[np.ndarray | slice]:
    """Index arrays (or slices, when unshuffled) covering range(n); the last may be short."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


class Trainer:
    """Trains `network` on host arrays x (N, *shape) uint8 and y (N,) int, per `config`.

    on_epoch: called with each EpochMetrics (the CLI prints and saves them).
    """

    def __init__(self, config: RunConfig, network: Network, backend: Backend, num_classes: int) -> None:
        self.config = config
        self.network = network
        self.backend = backend
        self.xp = backend.xp
        self.eye = self.xp.eye(num_classes, dtype=backend.dtype)
        self.scale = backend.dtype.type(1 / 255)
        self.step_count = 0

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        """Data in: one copy of a uint8 batch and its labels, then scale and one-hot on the backend."""
        xd = self.backend.to_device(x).astype(self.backend.dtype) * self.scale
        yd = self.backend.to_device(y)
        return xd, yd, self.eye[yd]

    def train_epoch(self, epoch: int, x: np.ndarray, y: np.ndarray, progress: Any = None) -> tuple[float, float]:
        """One epoch: each pass of the rule's schedule over (x, y), each in its own shuffled
        order. Returns (mean training loss over the passes that learn from labels, seconds).
        """
        data = self.config.data
        passes = self.network.rule.passes()
        loss_sum = self.xp.zeros((), dtype=self.backend.dtype)
        counted = 0
        output = self.network.output.layer
        start = time.perf_counter()
        for number, plan in enumerate(passes):
            stream = ("data", f"epoch{epoch}") if number == 0 else ("data", f"epoch{epoch}", f"pass{number}")
            order = rng_for(self.config.seed, *stream).permutation(len(x)) if data.shuffle else None
            counts = learns_from_labels(plan)
            augment = None if data.augment.is_identity else rng_for(self.config.seed, "augment", *stream[1:])
            for index in batches(len(x), data.batch_size, order):
                xb = x[index] if augment is None else augment_batch(x[index], data.augment, augment)
                xd, _, onehot = self.to_device(xb, y[index])
                probs = self.network.step(self.step_count, xd, onehot, plan)
                if counts:
                    loss_sum += output.loss(probs, onehot) * len(xd)
                    counted += len(xd)
                self.step_count += 1
                if progress is not None:
                    progress.update(len(xd))
        self.backend.synchronize()
        seconds = time.perf_counter() - start
        return float(self.backend.to_host(loss_sum)) / max(counted, 1), seconds

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy, error %) of the current network on (x, y); no learning."""
        xp, output = self.xp, self.network.output.layer
        loss_sum = xp.zeros((), dtype=self.backend.dtype)
        wrong = xp.zeros((), dtype=xp.int64)
        for index in batches(len(x), self.config.data.eval_batch_size, None):
            xd, yd, onehot = self.to_device(x[index], y[index])
            probs = self.network.predict(xd)
            loss_sum += output.loss(probs, onehot) * len(xd)
            wrong += (probs.argmax(axis=1) != yd).sum()
        loss, wrong = self.backend.to_host(loss_sum), self.backend.to_host(wrong)
        return float(loss) / len(x), 100.0 * float(wrong) / len(x)

    def fit(self, dataset: Any, epochs: int, on_epoch: Callable[[EpochMetrics], None] | None = None,
            progress: Callable[[int, int], Any] | None = None) -> list[EpochMetrics]:
        """Train for `epochs`, evaluating after each; returns every epoch's metrics.

        progress(epoch, total_examples) may return a tqdm-like bar (with update/close).
        """
        x_train, y_train, x_test, y_test = dataset
        history = []
        for epoch in range(1, epochs + 1):
            bar = progress(epoch, len(x_train) * len(self.network.rule.passes())) if progress else None
            train_loss, seconds = self.train_epoch(epoch, x_train, y_train, bar)
            if bar is not None:
                bar.close()
            train_error = self.evaluate(x_train, y_train)[1] if self.config.train.eval_train else float("nan")
            test_loss, test_error = self.evaluate(x_test, y_test)
            row = EpochMetrics(epoch, train_loss, train_error, test_loss, test_error, seconds, len(x_train) / seconds)
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
        return history
