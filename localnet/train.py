"""The training loop: data in, steps through the network, metrics out, a run directory saved.

Host-device copies happen here at two places only: each minibatch goes to the backend
once (uint8 images and int labels), and metric sums come back once per epoch.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import Backend
from .config import RunConfig
from .data.augment import augment_batch
from .errors import DataError, LocalnetError
from .network import Network
from .schedule import learns_from_labels
from .seeding import rng_for


@dataclass(frozen=True)
class EpochMetrics:
    """One row of metrics.jsonl. Errors are percentages; train_loss is the running mean
    over the epoch's minibatches (weights changing), train_error a clean pass afterwards.
    seconds and examples_per_second are the training time and rate this process measured
    (epoch examples, i.e. training examples / passes, per second); for an epoch resumed
    part-way they cover the resumed part only (NaN rate if it resumed after its last step)."""

    epoch: int
    train_loss: float
    train_error: float
    test_loss: float
    test_error: float
    seconds: float
    examples_per_second: float
    # Top-5 errors (%): the true class is not among the 5 most probable (NaN: not measured,
    # e.g. train with eval_train off, or a checkpoint written before they were recorded).
    train_top5_error: float = float("nan")
    test_top5_error: float = float("nan")


def train_error_rows(n: int, examples: int | str, seed: int) -> np.ndarray | None:
    """Sorted int64 indices of the fixed subset of the n training examples whose clean pass
    gives the train error (`train.eval_train_examples`), or None for all of them. Drawn from
    its own stream of the run's seed, so it is the same every epoch and on resume, and it
    changes no other stream."""
    if examples == "all" or int(examples) >= n:
        return None
    return np.sort(rng_for(seed, "train_error").choice(n, size=int(examples), replace=False)).astype(np.int64)


class Stopped(Exception):
    """Training stopped between two steps because `Trainer.stop_requested` was set (a
    signal); the checkpoint of `position` has been written (when there is a hook)."""

    def __init__(self, position: Position) -> None:
        super().__init__(f"stopped at step {position.step}")
        self.position = position


@dataclass
class Position:
    """Where training stands: the next batch to run, and the running sums of the epoch.

    epoch is 1-based; pass_index / batch_index count within the epoch's passes; step is
    the global step count; loss_sum / counted / seconds accumulate over the epoch so far;
    augment_state is the augmentation generator's state inside the current pass.
    """

    epoch: int = 1
    pass_index: int = 0
    batch_index: int = 0
    step: int = 0
    loss_sum: float = 0.0
    counted: int = 0
    seconds: float = 0.0
    augment_state: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # A checkpoint's position is read back from a file: a damaged or hostile one must not
        # steer training (its loader treats the ValueError as a broken checkpoint). Epoch 0 is a
        # warm-up epoch (the device check trains one before timing).
        for name, low in (("epoch", 0), ("pass_index", 0), ("batch_index", 0), ("step", 0), ("counted", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**53:
                raise ValueError(f"position {name} {value!r} is not an integer in [{low}, 2^53)")
        for name in ("loss_sum", "seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
                raise ValueError(f"position {name} {value!r} is not a finite number >= 0")


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
        self.shift = backend.dtype.type(0)
        self.step_count = 0
        # Checkpoint hook: on_checkpoint(position, history or None) every `checkpoint_every`
        # steps (history None: mid-epoch) and at each epoch end (with the history so far).
        self.recorder: Any = None  # a localnet.record.Recorder, told about every finished step
        self.checkpoint_every = 0
        self.on_checkpoint: Callable[[Position, list[EpochMetrics] | None], None] | None = None
        # Set (e.g. by a signal handler) to stop at the next step boundary: a checkpoint of
        # that step is written and Stopped raised. Checked between steps and evaluation batches.
        self.stop_requested = False
        #: examples of the current epoch done before this process resumed it (0: a whole epoch)
        self.resumed_examples = 0

    def standardize_from(self, x: np.ndarray) -> None:
        """Use the mean and std of the training pixels x (uint8) for data.normalize = "standardize":
        inputs become (x / 255 - mean) / std, computed as x * scale + shift."""
        values = x.reshape(-1)
        mean = float(values.mean(dtype=np.float64)) / 255
        std = float(values.std(dtype=np.float64)) / 255
        if not std > 0:  # every training pixel the same value: there is no spread to divide by
            raise DataError(f"data.normalize = \"standardize\" needs training pixels that vary, but all "
                            f"{values.size:,} are {int(values[0]) if values.size else 'absent'}: check the "
                            "dataset, or set data.normalize = \"unit\"")
        self.scale = self.backend.dtype.type(1 / (255 * std))
        self.shift = self.backend.dtype.type(-mean / std)

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        """Data in: one copy of a uint8 batch and its labels, then scale and one-hot on the backend."""
        xd = self.backend.to_device(x).astype(self.backend.dtype) * self.scale + self.shift
        yd = self.backend.to_device(y)
        return xd, yd, self.eye[yd]

    def train_epoch(self, epoch: int, x: np.ndarray, y: np.ndarray, progress: Any = None,
                    position: Position | None = None) -> tuple[float, float, int]:
        """One epoch: each pass of the rule's schedule over (x, y), each in its own shuffled
        order. Returns (mean training loss over the passes that learn from labels, seconds
        and training examples of what this call ran).

        position: where to start inside the epoch (a resumed checkpoint); it is advanced in
        place; `on_checkpoint` is called every `checkpoint_every` steps, and at the step
        where `stop_requested` is seen (then Stopped is raised).
        """
        passes = self.network.rule.passes()
        pos = position if position is not None else Position(epoch=epoch, step=self.step_count)
        loss_sum = self.xp.asarray(pos.loss_sum, dtype=self.backend.dtype)
        output = self.network.output_layer
        start, before, examples = time.perf_counter(), pos.seconds, 0
        for number in range(pos.pass_index, len(passes)):
            plan = passes[number]
            counts = learns_from_labels(plan)
            source = self.pass_batches(epoch, number, x, y, pos)
            try:
                for xb, yb in source:
                    xd, _, onehot = self.to_device(xb, yb)
                    probs = self.network.step(self.step_count, xd, onehot, plan)
                    if self.recorder is not None:  # an observer: reads nodes, changes nothing
                        self.recorder.end_step(self.step_count, epoch)
                    if counts:
                        loss_sum += output.loss(probs, onehot) * len(xd)
                        pos.counted += len(xd)
                    self.step_count += 1
                    pos.batch_index += 1
                    pos.step = self.step_count
                    examples += len(xd)
                    if progress is not None:
                        progress.update(len(xd))
                    due = self.checkpoint_every and self.step_count % self.checkpoint_every == 0
                    if due or self.stop_requested:
                        pos.seconds = before + time.perf_counter() - start
                        pos.loss_sum = float(self.backend.to_host(loss_sum))
                        if self.on_checkpoint is not None:
                            self.on_checkpoint(pos, None)
                        if self.stop_requested:
                            raise Stopped(pos)
            finally:
                source.close()  # a streamed source stops its reader threads on an early exit
            pos.pass_index, pos.batch_index, pos.augment_state = number + 1, 0, None
        self.backend.synchronize()
        seconds = time.perf_counter() - start
        # All passes done: a stop during evaluation checkpoints this position (resume evaluates).
        pos.seconds, pos.loss_sum = before + seconds, float(self.backend.to_host(loss_sum))
        return pos.loss_sum / max(pos.counted, 1), seconds, examples

    def pass_batches(self, epoch: int, number: int, x: Any, y: Any, pos: Position) -> Generator[tuple[Any, Any]]:
        """The host batches (x, y) of pass `number` of `epoch`, from pos.batch_index on: the
        pass's own seeded order, augmented when the config asks. pos.augment_state follows the
        augmentation stream (its state after the batch just yielded), so a checkpoint taken at
        that step resumes the same crops and flips. Subclasses read other sources (stream.py)."""
        data = self.config.data
        stream = ("data", f"epoch{epoch}") if number == 0 else ("data", f"epoch{epoch}", f"pass{number}")
        order = rng_for(self.config.seed, *stream).permutation(len(x)) if data.shuffle else None
        if not data.augment.is_identity and pos.augment_state is None:
            pos.augment_state = rng_for(self.config.seed, "augment", *stream[1:]).bit_generator.state
        augment = None
        if pos.augment_state is not None:
            augment = np.random.Generator(np.random.PCG64())
            augment.bit_generator.state = pos.augment_state
        for index in itertools.islice(batches(len(x), data.batch_size, order), pos.batch_index, None):
            if augment is None:
                yield x[index], y[index]
            else:
                xb = augment_batch(x[index], data.augment, augment)
                pos.augment_state = augment.bit_generator.state
                yield xb, y[index]

    def train_error_set(self, x: Any, y: Any) -> tuple[Any, Any]:
        """What the train-error pass evaluates: the training set, or its fixed subset."""
        rows = train_error_rows(len(x), self.config.train.eval_train_examples, self.config.seed)
        return (x, y) if rows is None else (x[rows], y[rows])

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy, error %) of the current network on (x, y); no learning."""
        return self.evaluate_top(x, y)[:2]

    def evaluate_top(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        """(mean cross-entropy, top-1 error %, top-5 error %) of the current network on (x, y)."""
        sums = self.new_sums()
        for index in batches(len(x), self.config.data.eval_batch_size, None):
            if self.stop_requested:
                raise Stopped(Position())  # fit checkpoints the epoch's real position
            xd, yd, onehot = self.to_device(x[index], y[index])
            self.add_to_sums(sums, self.network.predict(xd), yd, onehot)
        return self.finish_sums(sums, len(x))

    def new_sums(self) -> list[Any]:
        """Device accumulators [loss sum, top-1 wrong, top-5 wrong] for `add_to_sums`."""
        xp = self.xp
        return [xp.zeros((), dtype=self.backend.dtype), xp.zeros((), dtype=xp.int64), xp.zeros((), dtype=xp.int64)]

    def add_to_sums(self, sums: list[Any], probs: Any, yd: Any, onehot: Any) -> None:
        """Add one batch: probs (B, C), labels yd (B,). Top-5 counts the classes scored
        strictly above the true one (rank >= 5 is wrong), O(B C) on the device."""
        sums[0] += self.network.output_layer.loss(probs, onehot) * len(yd)
        sums[1] += (probs.argmax(axis=1) != yd).sum()
        true = (probs * onehot).sum(axis=1, keepdims=True)
        sums[2] += ((probs > true).sum(axis=1) >= 5).sum()

    def finish_sums(self, sums: list[Any], n: int) -> tuple[float, float, float]:
        loss, top1, top5 = (self.backend.to_host(s) for s in sums)  # one copy each, per evaluation
        return float(loss) / n, 100.0 * float(top1) / n, 100.0 * float(top5) / n

    def fit(self, dataset: Any, epochs: int, on_epoch: Callable[[EpochMetrics], None] | None = None,
            progress: Callable[[int, int, int], Any] | None = None, resume: Position | None = None,
            history: list[EpochMetrics] | None = None) -> list[EpochMetrics]:
        """Train up to epoch `epochs`, evaluating after each; returns every epoch's metrics.

        progress(epoch, examples, steps) may return a tqdm-like bar (with update/close) for
        the examples and steps this process will run of that epoch (for an epoch resumed
        part-way, the rest only); resume: the position of a checkpoint to continue from,
        with its `history`. Stopped: `stop_requested` was seen (its checkpoint written).
        """
        x_train, y_train, x_test, y_test = dataset
        if self.config.data.normalize == "standardize":
            self.standardize_from(x_train)
        history = list(history or [])
        x_error, y_error = self.train_error_set(x_train, y_train) if self.config.train.eval_train else (x_train, y_train)
        first = resume.epoch if resume is not None else 1
        passes = len(self.network.rule.passes())
        per_pass = -(-len(x_train) // self.config.data.batch_size)  # steps
        # pass_index == passes: the epoch's passes are done (stopped during its evaluation)
        if resume is not None and (resume.pass_index > passes or resume.batch_index > per_pass or first > epochs + 1
                                   or (resume.pass_index == passes and resume.batch_index)):
            raise LocalnetError(f"the checkpoint's position (epoch {resume.epoch}, pass {resume.pass_index}, batch "
                                f"{resume.batch_index}) does not fit this run ({epochs} epochs of {passes} pass(es) of "
                                f"{per_pass} batches): it is not this run's checkpoint; start a new run")
        for epoch in range(first, epochs + 1):
            position = resume if resume is not None and epoch == first else Position(epoch=epoch, step=self.step_count)
            done_steps = position.pass_index * per_pass + position.batch_index
            self.resumed_examples = (position.pass_index * len(x_train)
                                     + min(position.batch_index * self.config.data.batch_size, len(x_train)))
            bar = None
            if progress is not None:
                bar = progress(epoch, len(x_train) * passes - self.resumed_examples, per_pass * passes - done_steps)
            try:
                train_loss, seconds, examples = self.train_epoch(epoch, x_train, y_train, bar, position)
            finally:
                if bar is not None:
                    bar.close()
            try:
                train = self.evaluate_top(x_error, y_error) if self.config.train.eval_train else (math.nan,) * 3
                test_loss, test_error, test_top5 = self.evaluate_top(x_test, y_test)
            except Stopped:
                if self.on_checkpoint is not None:
                    self.on_checkpoint(position, None)  # every step of the epoch run: resume evaluates
                raise Stopped(position) from None
            rate = examples / passes / seconds if examples and seconds > 0 else float("nan")
            row = EpochMetrics(epoch, train_loss, train[1], test_loss, test_error, seconds, rate, train[2], test_top5)
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            if self.on_checkpoint is not None:  # the position at the start of the next epoch
                self.on_checkpoint(Position(epoch=epoch + 1, step=self.step_count), history)
            if self.stop_requested and epoch < epochs:
                raise Stopped(Position(epoch=epoch + 1, step=self.step_count))
        return history
