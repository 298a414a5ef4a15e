"""Stream text to stdout without a write system call per delta.

A fast model sends hundreds of deltas a second; flushing each one is a system
call (and, over SSH, a packet) per delta. :class:`PacedWriter` flushes at most
every ``interval`` seconds while text keeps coming, and once more when the
stream goes quiet, so nothing waits on screen longer than ``interval``. "Quiet"
is told by an asyncio timer on the async path, and on the sync path by the
client itself, which calls :meth:`PacedWriter.flush` each time it is about to
wait for the network (``SyncClient.before_wait``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from asyncio import TimerHandle

# 60 times a second: faster than a terminal user can read, 1/30 of the calls at 2,000 deltas/s.
DEFAULT_INTERVAL = 1 / 60


class PacedWriter:
    """Writes text to ``out``; flushes at most every ``interval`` s, and when idle.

    With ``idle_timer`` (the default) it must be used from a running asyncio event
    loop (the idle flush is a timer on it); without, the caller calls :meth:`flush`
    before it waits for more text. Call :meth:`flush` before writing to another
    stream (stderr) or exiting.
    """

    def __init__(
        self, out: TextIO, interval: float = DEFAULT_INTERVAL, *, idle_timer: bool = True
    ) -> None:
        self.out = out
        self.interval = interval
        self.idle_timer = idle_timer
        self._last = float("-inf")  # the first delta shows at once
        self._timer: TimerHandle | None = None
        self._pending = False

    def write(self, text: str) -> None:
        """Write ``text``; flush now if the last flush is ``interval`` old, else soon."""
        self.out.write(text)
        self._pending = True
        if time.monotonic() - self._last >= self.interval:
            self.flush()
        elif self._timer is None and self.idle_timer:
            import asyncio  # the async path has it loaded already; the sync path never

            self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Flush what was written (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self._pending = False
            self.out.flush()
            self._last = time.monotonic()
