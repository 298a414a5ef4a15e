"""Getting streamed text onto the screen at a bounded rate.

The stream consumer only appends deltas to a buffer (cheap, any token rate);
the app's frame timer calls :meth:`StreamRenderer.flush` 16 times a second.
:class:`MarkdownBody` freezes finished blocks once and redraws only the growing
tail, so whatever the server's speed the UI does at most 16 cheap updates a
second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from lmtui.services.terminal_text import make_inert
from lmtui.ui.markdown_body import MarkdownBody

# 16 frames a second reads as smooth text, and each frame costs terminal bytes (the
# growing line is rewritten up to its end): 30 frames wrote ~10 % more at 100 tokens/s.
# The app also redraws the live tok/s every 8 frames: twice a second at this rate.
FRAME_SECONDS = 1 / 16
# After a frame that made the reply taller (a layout, so the whole pane is rewritten
# on the terminal), the next frames wait this long: a reply that arrives faster than
# half a screen per frame then scrolls twice a second, not 16 times.
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

    async def flush(self, force: bool = False) -> bool:
        """Draw what arrived since the last frame; False when there was nothing to do.

        A flush still running (a slow frame) makes the next one a no-op, so work
        never piles up behind the event loop. For :data:`SCROLL_GAP_SECONDS` after
        a frame that laid the reply out again, frames keep buffering unless ``force``.
        """
        if self._busy or not self.pending:
            return False
        if not force and self.clock() < self._hold_until:
            return False
        self._busy = True
        try:
            if self._reasoning:
                reasoning = make_inert("".join(self._reasoning))
                self._reasoning.clear()
                self._on_reasoning(reasoning)
            if self._content:
                text = make_inert("".join(self._content))
                self._content.clear()
                layouts = self.markdown.relayouts
                await self.markdown.append(text)
                if self.markdown.relayouts != layouts:
                    self._hold_until = self.clock() + SCROLL_GAP_SECONDS
        finally:
            self._busy = False
        return True

    async def drain(self) -> None:
        """Draw everything still buffered (at the end of a reply)."""
        while self.pending or self._busy:
            if not await self.flush(force=True) and self._busy:
                # Another flush is mid-way; let it finish first.
                await asyncio.sleep(0)
