"""Waiting for a server that is still loading its model (llama.cpp's 503 "Loading model").

While the server says so, the chat screen shows it on the status line and in the
sidebar and asks again after a growing, bounded delay; it stops asking as soon as
the server answers (or after ``limit`` tries), so nothing polls while idle.
"""

from __future__ import annotations

from textual.timer import Timer

LOADING_TEXT = "server is loading its model… retrying"


class LoadingRetry:
    """The backoff for a server that is loading its model, and its one pending timer.

    Args:
        first: seconds before the first retry.
        ceiling: the longest wait between two tries.
        limit: tries before giving up (the error is then shown as any other).
    """

    def __init__(self, first: float = 0.5, ceiling: float = 8.0, limit: int = 60) -> None:
        self.first = first
        self.ceiling = ceiling
        self.limit = limit
        self.tries = 0
        self.timer: Timer | None = None

    @property
    def exhausted(self) -> bool:
        """True once ``limit`` tries have been made."""
        return self.tries >= self.limit

    @property
    def pending(self) -> bool:
        """True while a retry is scheduled."""
        return self.timer is not None

    def next_delay(self) -> float:
        """Seconds to wait before the next try: doubles from ``first`` up to ``ceiling``."""
        delay = min(self.ceiling, self.first * float(2 ** min(self.tries, 32)))
        self.tries += 1
        return delay

    def status(self, delay: float) -> str:
        """The status line's text while waiting ``delay`` seconds."""
        return f"{LOADING_TEXT} in {delay:.0f} s" if delay >= 1 else f"{LOADING_TEXT}…"

    def cancel(self) -> None:
        """Drop the pending retry, if any."""
        if self.timer is not None:
            self.timer.stop()
            self.timer = None

    def reset(self) -> None:
        """The server answered: no retry pending, the next wait starts short again."""
        self.cancel()
        self.tries = 0
