"""Training on a streamed dataset (`data.dataset = "imagenet"`): prepared shards, never loaded whole.

`load_streamed` opens DIR/train and DIR/val (the output of `localnet data prepare
imagenet`) as ShardLoaders; `StreamTrainer` is the Trainer whose epochs read batches from
them: a seeded, resumable order with a random crop and flip per training batch (centre
crop for evaluation), the uint8 batch copied to the device once and normalised there
with ImageNet's mean and std. On CuPy the next batch's copy runs on its own CUDA stream while
the current batch trains (staging.py). A mid-epoch resume continues with exactly the batches an
uninterrupted run would have seen (`ShardLoader.batches(epoch, start_step, pass_index)`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data.imagenet import ShardLoader, normalize_on_device
from .data.imagenet_spec import input_shape_of
from .errors import DataError
from .staging import staged
from .train import Position, Stopped, Trainer, train_error_rows


@dataclass(frozen=True)
class StreamedData:
    """What `run` needs of a streamed dataset besides the loaders."""

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    trainer: type  # StreamTrainer


def load_streamed(config: Any, data_dir: str | None) -> tuple[tuple[Any, ...], StreamedData]:
    """((train loader, None, val loader, None), StreamedData) for `config`; DataError (one
    line) when the directory holds no prepared train/ and val/ or the crop does not fit."""
    from .data import resolve_data_dir  # noqa: PLC0415 - the data package loads only when streaming

    root = Path(resolve_data_dir(config.data.dataset, data_dir))
    data = config.data
    side = input_shape_of(config)[0]
    workers = 2  # chunk-reading threads; the loader measures well ahead of one CPU step
    try:
        train = EvaluableLoader(root / "train", data.batch_size, config.seed, crop=side, train=True,
                            flip=data.augment.flip != "none", workers=workers)
        val = ShardLoader(root / "val", data.eval_batch_size, config.seed, crop=side, train=False, workers=workers)
    except ValueError as err:
        raise DataError(f"{root}: {err}: set data.image_size to at most the prepared size, or prepare "
                        "with a larger --size") from None
    if train.num_classes != val.num_classes:
        raise DataError(f"{root}: train has {train.num_classes} classes but val {val.num_classes}: prepare both "
                        "splits from the same release")
    if data.batch_size > len(train):
        raise DataError(f"data.batch_size {data.batch_size} is larger than the {len(train):,} training images "
                        f"in {root / 'train'}: use a batch_size <= {len(train)}")
    info = StreamedData(config.data.dataset, (side, side, 3), train.num_classes, StreamTrainer)
    return (train, None, val, None), info


class StreamTrainer(Trainer):
    """A Trainer whose data are ShardLoaders: `fit((train, None, val, None), ...)`."""

    def to_device(self, x: Any, y: Any) -> tuple[Any, Any, Any]:
        """(normalised images, labels, one-hot) of a batch on the host or already staged on the device."""
        xd = normalize_on_device(self.backend, x)
        yd = self.backend.to_device(y)
        return xd, yd, self.eye[yd]

    def pass_batches(self, epoch: int, number: int, x: Any, y: Any, pos: Position) -> Generator[tuple[Any, Any]]:
        """The batches of pass `number` from the loader `x` (y is unused), from pos.batch_index
        on; the loader's crops and flips depend only on (seed, epoch, pass, step), so a
        checkpoint keeps no augmentation state, and the batches can be staged on the device
        ahead of the step that trains on them."""
        return staged(self.backend, x.batches(epoch, start_step=pos.batch_index, pass_index=number))

    def train_error_set(self, x: Any, y: Any) -> tuple[Any, Any]:
        """The training loader's evaluation twin over the train-error subset (or all of it):
        the subset's images in file order, centre crops."""
        rows = train_error_rows(len(x), self.config.train.eval_train_examples, self.config.seed)
        return (x.eval_twin(rows) if isinstance(x, EvaluableLoader) else x), y

    def evaluate_top(self, x: Any, y: Any) -> tuple[float, float, float]:
        """(mean cross-entropy, top-1 error %, top-5 error %) over the loader `x` in file
        order with centre crops (y is unused; a training loader is read through its
        evaluation twin: same split, centre crop, file order)."""
        loader = x.eval_twin(None) if isinstance(x, EvaluableLoader) else x
        sums = self.new_sums()
        batches = staged(self.backend, loader.batches(0))
        try:
            for xb, yb in batches:
                if self.stop_requested:
                    raise Stopped(Position())  # fit checkpoints the epoch's real position
                xd, yd, onehot = self.to_device(xb, yb)
                self.add_to_sums(sums, self.network.predict(xd), yd, onehot)
        finally:
            batches.close()  # stops the loader's threads on an early exit
        return self.finish_sums(sums, len(loader))


class EvaluableLoader(ShardLoader):
    """A training ShardLoader that can open its split again for evaluation (eval_train)."""

    def __init__(self, root: str | Path, batch_size: int, seed: int = 0, **options: Any) -> None:
        super().__init__(root, batch_size, seed, **options)
        self.root = Path(root)
        self._twins: dict[bytes | None, ShardLoader] = {}

    def eval_twin(self, rows: np.ndarray | None) -> ShardLoader:
        """The same split for evaluation (file order, centre crops), over `rows` (sorted image
        indices) or every image."""
        key = None if rows is None else rows.tobytes()
        if key not in self._twins:
            self._twins[key] = ShardLoader(self.root, self.batch_size, self.seed, crop=self.crop, train=False,
                                           workers=self.workers, rows=rows)
        return self._twins[key]

