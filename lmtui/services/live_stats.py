"""Figures of a reply while it streams: how long it has waited, how fast it comes."""

from __future__ import annotations

import time
from collections.abc import Callable


class LiveStats:
    """Counts a reply's deltas as they arrive and says its speed so far.

    ``clock`` gives seconds (tests pass their own). Counting is cheap: call
    :meth:`delta` for every content or reasoning piece.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.first_delta: float | None = None
        self.deltas = 0

    def delta(self) -> None:
        """One more piece of the reply arrived."""
        self.deltas += 1
        if self.first_delta is None:
            self.first_delta = self.clock()

    def text(self) -> str:
        """``waiting 1.2 s`` before the first piece, then ``35.0 tok/s`` ("" at zero time)."""
        now = self.clock()
        if self.first_delta is None:
            return f"waiting {now - self.started:.1f} s"
        elapsed = now - self.first_delta
        if elapsed <= 0:
            return ""
        return f"{self.deltas / elapsed:.1f} tok/s"
