"""Figures of a reply: while it streams (:class:`LiveStats`) and once done (:func:`reply_figures`).

The TUI's footer and ``lmtui ask -v`` both read :func:`reply_figures`, so the two say
the same tokens, time to first token and tokens/s for the same reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lmtui.backend.types import ClientTimings, ServerTimings, Usage


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

    def delta(self, pieces: int = 1) -> None:
        """More of the reply arrived: ``pieces`` of the server's deltas (see delta_merge)."""
        self.deltas += pieces
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


@dataclass(frozen=True, slots=True)
class ReplyFigures:
    """A finished reply's figures; None where nothing measured it."""

    tokens: int | None
    """Completion tokens the server counted, else the deltas lmtui counted."""
    first_token_s: float | None
    """Seconds from sending to the first piece, as lmtui measured it."""
    tokens_per_second: float | None
    """The server's own figure when it sent one (llama.cpp, LM Studio stats), else lmtui's."""
    total_s: float | None
    """Seconds from sending to the end of the stream, as lmtui measured it."""


def reply_figures(
    usage: Usage | None, client: ClientTimings | None, server: ServerTimings | None
) -> ReplyFigures:
    """The figures of a reply from what the server reported and what lmtui measured.

    Arguments are a reply's ``usage``, ``client_timings`` and ``server_timings`` (each
    may be None). Returns a :class:`ReplyFigures`; zero counts and speeds become None.
    """
    tokens = usage.completion_tokens if usage is not None and usage.completion_tokens else None
    if tokens is None and client is not None and client.delta_count:
        tokens = client.delta_count
    speed = server.tokens_per_second if server is not None else None
    if not speed and client is not None:
        speed = client.tokens_per_second
    return ReplyFigures(
        tokens=tokens,
        first_token_s=client.time_to_first_token_s if client is not None else None,
        tokens_per_second=speed or None,
        total_s=client.total_s if client is not None else None,
    )
