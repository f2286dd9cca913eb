"""The event engine: routes messages along declared channels in a deterministic order.

The engine does no array math. A node is anything with a `name` and a
`handle(message) -> list[(kind, payload)]` method; what a node emits goes to every channel
declared from it with that kind. Deliveries are ordered by (step, phase, priority, seq),
and every delivery passes one tap (the recorder's and the tests' window on the run).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from .messages import Channel, Message

Tap = Callable[[Message], None]


class Node(Protocol):
    name: str

    def handle(self, message: Message) -> Sequence[tuple[str, Any]]: ...


class Engine:
    """Delivers messages between nodes over the channels declared at construction.

    nodes: every node that can receive, by name (sources such as "input" need none);
    channels: the declared edges; freeze: makes a payload read-only before delivery
    (the backend's `freeze`), so a receiver that mutates a message fails loudly.
    """

    def __init__(
        self,
        nodes: Iterable[Node],
        channels: Iterable[Channel],
        freeze: Callable[[Any], Any] = lambda payload: payload,
    ) -> None:
        self.nodes = {node.name: node for node in nodes}
        self.channels = tuple(channels)
        self._out: dict[tuple[str, str], list[Channel]] = {}
        for channel in self.channels:
            if channel.dst not in self.nodes:
                raise ValueError(f"channel {channel} ends at unknown node {channel.dst!r}")
            self._out.setdefault((channel.src, channel.kind), []).append(channel)
        self._freeze = freeze
        self._taps: list[Tap] = []
        self._queue: list[tuple[int, int, int, int, Message]] = []
        self._seq = 0

    def add_tap(self, tap: Tap) -> Callable[[], None]:
        """Call `tap(message)` on every delivery; returns a function that removes it."""
        self._taps.append(tap)
        return lambda: self._taps.remove(tap)

    def has_channel(self, src: str, kind: str) -> bool:
        """Whether `src` may emit `kind` (nodes use this to skip unneeded work)."""
        return (src, kind) in self._out

    def send(self, src: str, kind: str, payload: Any, step: int, phase: str, order: int) -> None:
        """Queue `payload` on every channel from `src` of `kind`; undeclared sends fail."""
        channels = self._out.get((src, kind))
        if not channels:
            raise RuntimeError(f"{src!r} emitted a {kind!r} message but no such channel is declared")
        payload = self._freeze(payload)
        for channel in channels:
            message = Message(kind, src, channel.dst, step, phase, payload)
            heapq.heappush(self._queue, (step, order, channel.priority, self._seq, message))
            self._seq += 1

    def run_phase(self, step: int, phase: str, order: int, injections: Iterable[tuple[str, str, Any]]) -> int:
        """Inject `(src, kind, payload)` messages and deliver until the phase is quiet.

        order: the phase's position in the step's plan (sorts the queue). Returns the
        number of deliveries. Messages a handler emits are stamped with this step/phase.
        """
        for src, kind, payload in injections:
            self.send(src, kind, payload, step, phase, order)
        delivered = 0
        while self._queue:
            *_, message = heapq.heappop(self._queue)
            for tap in self._taps:
                tap(message)
            for kind, payload in self.nodes[message.dst].handle(message):
                self.send(message.dst, kind, payload, step, phase, order)
            delivered += 1
        return delivered
