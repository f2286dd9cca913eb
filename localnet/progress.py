"""Progress of an epoch: a tqdm bar on a terminal, plain lines in a log file or a cluster job.

`progress_factory` gives what `Trainer.fit` calls as progress(epoch, examples, steps) for
the examples and steps this process will run of that epoch; the object it returns takes
update(n) after each step and close() at the epoch's end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

LINES_PER_EPOCH = 10  # a line every 10% of an epoch when the output is not a terminal


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class LineProgress:
    """Writes a line at every tenth of `examples`: the step, the examples, the rate since
    the bar started and the ETA of the rest of the epoch, e.g.
    `epoch 2: 30% step 563/1875, 18,016/60,000 examples, 4,512 ex/s, ETA 9 s`."""

    def __init__(self, epoch: int, examples: int, steps: int, stream: TextIO,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.epoch, self.total, self.steps = epoch, examples, steps
        self.stream, self.clock = stream, clock
        self.start = clock()
        self.done = self.step = 0
        self.next_tenth = 1

    def update(self, n: int) -> None:
        self.done += n
        self.step += 1
        if self.done >= self.total or self.done * LINES_PER_EPOCH < self.next_tenth * self.total:
            return  # (the epoch's own line follows its last step)
        tenth = min(self.done * LINES_PER_EPOCH // self.total, LINES_PER_EPOCH)
        self.next_tenth = tenth + 1
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate
        print(f"epoch {self.epoch}: {tenth * 100 // LINES_PER_EPOCH:>3}% step {self.step:,}/{self.steps:,}, "
              f"{self.done:,}/{self.total:,} examples, {rate:,.0f} ex/s, ETA {_duration(eta)}",
              file=self.stream, flush=True)

    def close(self) -> None:
        pass


def progress_factory(enabled: bool, stream: TextIO | None = None) -> Callable[[int, int, int], Any] | None:
    """progress(epoch, examples, steps) for `Trainer.fit`: a tqdm bar when `stream` (default
    stderr) is a terminal, else a LineProgress; None when not `enabled`."""
    if not enabled:
        return None
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        from tqdm import tqdm  # noqa: PLC0415

        return lambda epoch, examples, steps: tqdm(total=examples, desc=f"epoch {epoch}", unit="ex",
                                                   unit_scale=True, leave=False, file=out)
    return lambda epoch, examples, steps: LineProgress(epoch, examples, steps, out)
