"""A reply's deltas, buffered and drawn at a bounded rate (16 frames a second).

The reply's widget appends deltas here (cheap at any token rate) and its frame
timer calls :meth:`StreamRenderer.flush`; see docs/rendering.md for the numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lmtui.services.terminal_text import make_inert
from lmtui.ui.markdown_body import MarkdownBody

# Smooth to read, and fewer bytes than 30 frames a second (docs/rendering.md).
FRAME_SECONDS = 1 / 16
# After a frame that laid the reply out again (a full repaint), frames wait this long.
SCROLL_GAP_SECONDS = 0.5


class StreamRenderer:
    """Buffers one reply's deltas and hands them to its widgets once per frame."""

    def __init__(
        self,
        markdown: MarkdownBody,
        on_reasoning: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.markdown = markdown
        self._on_reasoning = on_reasoning
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._busy = False
        self._flushed = asyncio.Event()  # set when the flush under way ends
        self.clock = clock  # seconds, for the scroll gap (tests pass their own)
        self._hold_until = float("-inf")  # no frame before this (after a layout)
        self.deltas = 0

    def add_content(self, text: str) -> None:
        """Queue a piece of the answer."""
        self._content.append(text)
        self.deltas += 1

    def add_reasoning(self, text: str) -> None:
        """Queue a piece of the reasoning."""
        self._reasoning.append(text)
        self.deltas += 1

    def discard_content(self) -> None:
        """Drop answer text not drawn yet (it turned out to be reasoning)."""
        self._content.clear()

    @property
    def pending(self) -> bool:
        """True when something is waiting to be drawn."""
        return bool(self._content or self._reasoning)

    async def flush(self, force: bool = False, *, last: bool = False) -> bool:
        """Draw what arrived since the last frame; False when there was nothing to do.

        A flush still running (a slow frame) makes the next one a no-op, so work
        never piles up behind the event loop. For :data:`SCROLL_GAP_SECONDS` after
        a frame that laid the reply out again, frames keep buffering unless ``force``.
        ``last``: the reply's end follows at once, and draws what the pane shows itself.
        A flush once begun always ends, even when its caller is cancelled (the frame
        timer stopped at the reply's end): its text is out of the buffer by then.
        """
        if self._busy or not self.pending:
            return False
        if not force and self.clock() < self._hold_until:
            return False
        self._busy = True
        self._flushed.clear()
        text = ""
        try:
            if self._reasoning:
                reasoning = make_inert("".join(self._reasoning))
                self._reasoning.clear()
                self._on_reasoning(reasoning)
            if self._content:
                text = make_inert("".join(self._content))
                self._content.clear()
        except BaseException:
            self._done()
            raise
        if last:
            # Nothing in it awaits (no drawing ahead): it cannot be cut short, and a task
            # would give the loop a turn, in which the screen may paint a state about to go.
            await self._append(text, last)
            return True
        work = asyncio.ensure_future(self._append(text, last))
        # Its caller may be gone by its end: what it raised is then read here, not
        # logged by asyncio onto the terminal.
        work.add_done_callback(_read_outcome)
        await asyncio.shield(work)
        return True

    async def _append(self, text: str, last: bool) -> None:
        """Give ``text`` to the body (the part of :meth:`flush` that awaits)."""
        try:
            if text:
                layouts = self.markdown.relayouts
                await self.markdown.append(text, draw_ahead=not last)
                if self.markdown.relayouts != layouts:
                    self._hold_until = self.clock() + SCROLL_GAP_SECONDS
        finally:
            self._done()

    def _done(self) -> None:
        self._busy = False
        self._flushed.set()

    async def drain(self) -> None:
        """Draw everything still buffered (at the end of a reply)."""
        while self.pending or self._busy:
            if not await self.flush(force=True, last=True) and self._busy:
                # Another flush is mid-way (its chunks pause between them): wait for it,
                # without spinning the loop.
                await self._flushed.wait()


def _read_outcome(task: asyncio.Future[None]) -> None:
    """Mark ``task``'s exception as read (see :meth:`StreamRenderer.flush`)."""
    if not task.cancelled():
        task.exception()
