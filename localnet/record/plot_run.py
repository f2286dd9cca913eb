"""What `localnet plot` reads from one run directory, with training steps mapped to epochs.

Every per-step series is drawn against the epoch (x = step / steps per epoch, so x in
[e - 1, e) is epoch e and the epoch's metrics row sits at x = e). Steps per epoch come
from the run's config (training examples, batch size and the schedule's passes) when the
recorded steps agree with them, else from the recorded steps and their epochs.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import LocalnetError
from ..metrics_log import read_rows
from ..schedule import ERROR_FEEDBACK, SCHEDULES, StepPlan, learns_from_labels, trains_inverses
from .store import STORE_NAME

#: Files of which a run directory has at least one (what `localnet run` writes first).
RUN_FILES = ("config.toml", "metrics.jsonl", STORE_NAME)


class Run:
    """A run directory: its label, metrics rows, config, schedule and record (or None)."""

    def __init__(self, path: Path, label: str) -> None:
        if not path.is_dir():
            raise LocalnetError(f"run directory {path} does not exist: pass directories written by `localnet run`")
        if not any((path / name).exists() for name in RUN_FILES):
            raise LocalnetError(f"{path} is not a run directory (it has no {', '.join(RUN_FILES)}): "
                                "pass a directory written by `localnet run`")
        self.path, self.label = path, label
        self.metrics = read_rows(path / "metrics.jsonl", lambda line: click.echo(line, err=True))
        from .inspect import open_record  # noqa: PLC0415

        self.record = open_record(path) if (path / STORE_NAME / "zarr.json").is_file() else None
        self._coords: dict[str, dict[str, np.ndarray]] = {}
        self.config = self._config()
        schedule = self.config.get("rule", {}).get("schedule")
        self.passes: tuple[StepPlan, ...] = SCHEDULES.get(schedule, ERROR_FEEDBACK) if schedule else ERROR_FEEDBACK
        self.steps_per_epoch = self._steps_per_epoch()

    def _config(self) -> dict[str, Any]:
        path = self.path / "config.toml"
        if path.is_file():
            try:
                return tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as err:
                raise LocalnetError(f"{path} is not valid TOML ({err})") from None
        return dict(self.record.attrs.get("config", {})) if self.record is not None else {}

    # -- steps and epochs --------------------------------------------------------------

    def coords(self, layer: str) -> dict[str, np.ndarray]:
        """step, epoch, phase (and example) of a layer's recorded rows, read once."""
        if layer not in self._coords and self.record is not None:
            self._coords[layer] = self.record.coords(layer)
        return self._coords[layer]

    def _rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """step, epoch, phase of the recorded rows (empty without a record)."""
        if self.record is None or not self.record.layers:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, str)
        coords = self.coords(self.record.layers[0])
        return coords["step"], coords["epoch"], coords["phase"]

    def _steps_per_epoch(self) -> int | None:
        steps, epochs, _ = self._rows()
        if not steps.size:
            return None
        planned = self._planned_steps()
        if planned and np.all(((epochs - 1) * planned <= steps) & (steps < epochs * planned)):
            return planned
        low = int(np.max(steps // epochs + 1))  # steps < epoch * S
        later = epochs > 1
        high = int(np.min(steps[later] // (epochs[later] - 1))) if later.any() else low  # (epoch - 1) * S <= steps
        return max(low, high)

    def _planned_steps(self) -> int | None:
        """passes x batches per pass, from data.limit_train (or the dataset's size) and batch_size."""
        data = self.config.get("data", {})
        sizes = [int(data.get("limit_train", 0) or 0)]
        try:
            from ..data.registry import DATASETS  # noqa: PLC0415

            spec = DATASETS.get(data.get("dataset", ""))
            sizes.append(int(getattr(spec, "train_size", 0) or 0))
        except ImportError:  # pragma: no cover - the data registry is part of the package
            pass
        sizes = [n for n in sizes if n > 0]
        batch = int(data.get("batch_size", 0) or 0)
        if not sizes or batch <= 0:
            return None
        return len(self.passes) * math.ceil(min(sizes) / batch)

    def epochs(self, steps: np.ndarray) -> np.ndarray:
        """Training steps as epochs since the start (x axis of every per-step plot)."""
        return np.asarray(steps, dtype=np.float64) / (self.steps_per_epoch or 1)

    def phase_spans(self) -> list[tuple[float, float, str]]:
        """(start, end, kind) in epochs of each pass of a multi-pass schedule over the recorded
        range; kind is "inverse" (a pass that trains only inverses), "forward" (one that trains
        only forward weights) or the pass's phases. Empty for one-pass schedules, or when the
        recorded phases do not fall where the schedule puts them."""
        steps, _, phases = self._rows()
        count = len(self.passes)
        if count < 2 or not steps.size or self.steps_per_epoch is None:
            return []
        per_epoch = self.steps_per_epoch
        names = ["+".join(phase.name for phase in plan) for plan in self.passes]
        predicted = [names[(int(s) % per_epoch) * count // per_epoch] for s in steps]
        if predicted != [str(p) for p in phases]:
            return []
        kinds = [_kind(plan) for plan in self.passes]
        last = math.ceil((int(steps[-1]) + 1) / per_epoch)
        return [(epoch + index / count, epoch + (index + 1) / count, kinds[index])
                for epoch in range(last) for index in range(count)]

    # -- series --------------------------------------------------------------------------

    def output_layer(self) -> str | None:
        if self.record is None:
            return None
        outputs = [name for name in self.record.layers if self.record.group(name).attrs.get("role") == "output"]
        return outputs[-1] if outputs else None

    def series(self, probe: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """layer -> (epochs, values) of a scalar probe, where recorded (NaN: not measured that step)."""
        out = {}
        if self.record is not None:
            for layer in self.record.layers:
                if probe in self.record.probes(layer):
                    steps = self.coords(layer)["step"]
                    out[layer] = (self.epochs(steps), self.record.read(layer, probe).astype(np.float64))
        return out

    def quantiles(self, layer: str, levels: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray] | None:
        """(epochs, (rows, len(levels)) quantiles) of the layer's recorded forward messages over
        the kept examples and units, per recorded step; read a chunk of steps at a time. None
        without a forward probe; rows with no finite value are left out."""
        if self.record is None or "forward" not in self.record.probes(layer):
            return None
        reader = self.record
        block = reader.array(layer, "forward").chunks[0]
        keep, values = [], []
        for begin in range(0, reader.rows, block):
            rows = reader.read(layer, "forward", begin, begin + block).astype(np.float64)
            flat = rows.reshape(rows.shape[0], -1)
            finite = np.isfinite(flat).any(axis=1)
            keep.append(finite)
            if finite.any():
                values.append(np.nanquantile(flat[finite], levels, axis=1).T)
        steps = self.coords(layer)["step"]
        mask = np.concatenate(keep) if keep else np.zeros(0, bool)
        table = np.concatenate(values) if values else np.zeros((0, len(levels)))
        return self.epochs(steps[mask]), table

    def layer_title(self, layer: str) -> str:
        """e.g. "layer2: Dense 256, tanh" from the store's layer attributes and the config."""
        if self.record is None:
            return layer
        attrs = self.record.group(layer).attrs
        shape = "x".join(str(n) for n in attrs.get("out_shape", []))
        title = f"{layer}: {attrs.get('type', '?')} {shape}"
        layers = self.config.get("layers", [])
        index = layer.removeprefix("layer")
        if index.isdigit() and 0 < int(index) <= len(layers) and layers[int(index) - 1].get("activation"):
            title += f", {layers[int(index) - 1]['activation']}"
        return title


def _kind(plan: StepPlan) -> str:
    if trains_inverses(plan) and not learns_from_labels(plan):
        return "inverse"
    if not trains_inverses(plan) and learns_from_labels(plan):
        return "forward"
    return "+".join(phase.name for phase in plan)
