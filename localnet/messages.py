"""Messages and channels: the only things that cross a layer boundary.

A message carries a whole minibatch: `payload` has shape (batch, *unit_shape). Kinds:

- ``forward``: activations h_l from layer l to layer l+1 (and the input x into layer 1);
- ``feedback``: an error signal for the receiver's output (BP: dL/dh, FA: its random
  projection, DFA: the output error broadcast to every hidden layer);
- ``target``: a desired value for the receiver's output (the label distribution into the
  output layer; TP targets between layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("forward", "feedback", "target")


@dataclass(frozen=True, slots=True)
class Channel:
    """A directed edge declared at build time: `src` may send messages of `kind` to `dst`.

    priority orders deliveries that are queued together (lower first), e.g. the output's
    broadcast to several hidden layers; ties fall back to send order.
    """

    src: str
    dst: str
    kind: str
    priority: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown message kind {self.kind!r}; known: {KINDS}")


@dataclass(frozen=True, slots=True)
class Message:
    """An immutable record delivered along a channel.

    step: the minibatch index since the start of training; phase: the schedule phase
    that produced it (e.g. "forward", "feedback", "evaluate"); payload: (batch, *units).
    """

    kind: str
    src: str
    dst: str
    step: int
    phase: str
    payload: Any
