"""The `[record]` section: which layers and probes to record, how often, on how many examples.

Recording is off by default. When on, every `every`-th training step is recorded (steps
0, every, 2 every, ...), tensor probes keep `examples` fixed rows of the minibatch (drawn
once from the seeded "record" stream), and `chunk` recorded steps are buffered on the
backend before one host copy and one write per array.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Message probes: (recorded steps, examples, *payload unit shape), copied from the delivery tap.
MESSAGE_PROBES = ("forward", "feedback", "target")
#: Derived per-layer series, one value per recorded step.
SERIES_PROBES = ("act_mean", "act_std", "update_norm", "weight_norm", "inverse_error", "target_gap")
PROBES = MESSAGE_PROBES + SERIES_PROBES
#: Cheap series plus the forward activations; a probe that does not apply to a layer (an
#: inverse error without an inverse, a target gap without targets) is skipped there.
DEFAULT_PROBES = ("forward", "act_mean", "act_std", "update_norm", "weight_norm", "inverse_error", "target_gap")

_LAYER_NAME = re.compile(r"layer[1-9][0-9]*")


@dataclass(frozen=True)
class RecordConfig:
    """enabled: record this run into RUN_DIR/record.zarr; every: record steps divisible by
    it; examples: batch rows kept by tensor probes (a fixed seeded subset, at most the batch
    size); layers: names such as "layer3" (empty: all); probes: from PROBES; chunk: recorded
    steps per Zarr chunk and per flush; angle: also record the angle (degrees) between each
    layer's update and the true BP gradient of the same batch (a side analysis, costs time).
    """

    enabled: bool = False
    every: int = 10
    examples: int = 8
    layers: tuple[str, ...] = ()
    probes: tuple[str, ...] = DEFAULT_PROBES
    # A flush costs about one zarr metadata write and one chunk write per array (0.1-0.2 s
    # for MNIST-FC's 6 layers x (probes + coordinates)) whatever its rows, so chunks are long:
    # at every = 10, 128 rows cost 2-7.5 % of MNIST-FC FA throughput (docs/performance.md).
    # A killed run loses at most chunk x every steps of its log.
    chunk: int = 128
    angle: bool = False

    def __post_init__(self) -> None:
        # Python callers may pass lists; the dataclass stays hashable and frozen.
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "probes", tuple(self.probes))
        for name in ("every", "examples", "chunk"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"record.{name} must be an integer >= 1, got {value!r}")
        for name in ("enabled", "angle"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"record.{name} must be true or false, got {getattr(self, name)!r}")
        for probe in self.probes:
            if probe == "angle":
                raise ValueError("record.probes: the angle is switched on with record.angle = true, not as a probe")
            if probe not in PROBES:
                raise ValueError(f"record.probes: unknown probe {probe!r}; valid probes: {', '.join(PROBES)}")
        if len(set(self.probes)) != len(self.probes):
            raise ValueError(f"record.probes lists a probe twice: {list(self.probes)}")
        for layer in self.layers:
            if not isinstance(layer, str) or not _LAYER_NAME.fullmatch(layer):
                raise ValueError(f"record.layers: {layer!r} is not a layer name; layers are named "
                                 "layer1, layer2, ... from the input side")
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"record.layers lists a layer twice: {list(self.layers)}")

    def records(self, step: int) -> bool:
        """Whether training step `step` (>= 0) is recorded."""
        return step >= 0 and step % self.every == 0
