"""Markdown for replies, drawn by one widget into cached lines so long replies stream cheaply.

Finished blocks are frozen into chunks rendered once; only the unfinished tail is
rendered again each frame. While a reply streams its height grows in steps of
a quarter of the pane, and between steps only changed rows are repainted. The reasons
and the measurements are in docs/rendering.md.
"""

from __future__ import annotations

import asyncio
from itertools import zip_longest

from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from lmtui.ui.textual_compat import QuietResize

# While a reply streams its height grows at least this many rows at a time (see
# stream_step for the usual step, a quarter of the pane).
MIN_STEP = 4


def stream_step(rows: int) -> int:
    """Rows a streaming reply grows by at a time in a pane of ``rows`` rows.

    Each step is one repaint of the pane; the rows not yet written show as a blank
    band under the text. A quarter of the pane keeps that band small at 80x24 (4 of
    18 rows; half the pane left 9 blank) for twice the repaints of half-pane steps.
    """
    return max(MIN_STEP, rows // 4)


# Finished blocks stay in the (redrawn) tail until they add up to this many characters.
FREEZE_MIN_CHARS = 400
EAGER_ROWS = 48


def split_finished(text: str, start: int = 0) -> int:
    """Where the finished blocks of ``text`` end: after the last safe blank line.

    A split point is a blank line outside a code fence that is followed by a
    line starting at column 0 (so an indented continuation of a list item is
    never cut from its item). Returns an offset ≥ ``start``; ``start`` when
    there is no new split point. ``start`` must itself be a split point.
    """
    best = start
    in_fence: str | None = None
    offset = start
    previous_blank = False
    for line in text[start:].splitlines(keepends=True):
        stripped = line.strip()
        complete = line.endswith("\n")
        if in_fence is None:
            if previous_blank and line[:1] not in (" ", "\t", "\n", "\r"):
                best = offset
            if stripped.startswith(("```", "~~~")):
                in_fence = stripped[:3]
        elif stripped.startswith(in_fence) and not stripped.strip("`~"):
            in_fence = None
        previous_blank = complete and not stripped and in_fence is None
        offset += len(line)
    return best


class _Chunk:
    """A run of whole Markdown blocks and its lines at the current width, once drawn."""

    __slots__ = ("estimate", "strips", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.strips: list[Strip] | None = None
        self.estimate = 0

    @property
    def height(self) -> int:
        return len(self.strips) if self.strips is not None else self.estimate


def estimate_height(text: str, width: int) -> int:
    """A cheap guess of the rendered height of Markdown ``text`` at ``width``."""
    if width <= 0:
        return 0
    return sum(max(1, -(-len(line) // width)) for line in text.splitlines())


def _cells(strip: Strip) -> list[tuple[str, object]]:
    """A strip as (character, style) cells, whatever its segments (wide characters kept whole)."""
    cells: list[tuple[str, object]] = []
    for segment in strip:
        cells.extend((char, segment.style) for char in segment.text)
    return cells


def changed_extent(old: Strip, new: Strip) -> int:
    """How many cells from the left of a row must be redrawn to turn ``old`` into ``new``.

    Textual writes a repainted row from the start of the widget to the end of the
    region refreshed, so a row that only grew at its end (the usual streamed line)
    is refreshed up to its last changed cell rather than across the whole width.
    """
    if old == new:
        return 0
    a, b = _cells(old), _cells(new)
    if len(a) != len(b):  # wide characters moved: redraw both extents
        return max(old.cell_length, new.cell_length)
    end = len(a)
    while end and a[end - 1] == b[end - 1]:
        end -= 1
    return cell_len("".join(char for char, _ in b[:end]))


class MarkdownLines(QuietResize, Widget):
    """Markdown drawn into cached lines: frozen chunks, drawn only when seen, then a live tail.

    A ``Static`` renders a Rich renderable once to measure its height and again
    to paint it. Here the text is a list of chunks (runs of whole blocks), each
    rendered at most once per width and only when one of its lines is painted;
    until then its height is estimated from its source. A reply streaming at
    the bottom of the screen therefore renders what is visible, and the chunks
    scrolled out of view are drawn when seen or by :meth:`render_next`. The tail
    (the unfinished blocks of a streaming reply, or a whole message at rest) is
    always drawn; :meth:`advance` replaces it and repaints only what changed.
    """

    DEFAULT_CSS = """
    MarkdownLines {
        height: auto;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._chunks: list[_Chunk] = []
        self._tail = _Chunk(text)
        self._width = 0
        self.step = 1  # the height grows in steps of this many rows
        self._floor = 0  # while stepping, the height never shrinks below this
        self._height = -1  # the height last given to the layout
        self.relayouts = 0  # times the text asked for a new layout (tests count these)
        self._drawn_style: Style | None = None  # the style of the lines drawn, if any
        self._heights_changed = False  # a chunk's real height differs from its estimate
        self._settling = False  # the reply ended; its last layout is still to come

    def set_step(self, step: int) -> None:
        """Grow in steps of ``step`` rows, never shrinking, while > 1 (a streaming reply).

        A step of 1 returns to the exact height of the text.
        """
        step = max(1, step)
        if step == self.step:
            return
        self.step = step
        if step == 1:
            self._floor = 0
        self._relayout()

    @property
    def text(self) -> str:
        """The Markdown source shown."""
        return "".join(c.text for c in self._chunks) + self._tail.text

    @property
    def frozen_text(self) -> str:
        """The Markdown of the frozen chunks (all but the live tail)."""
        return "".join(c.text for c in self._chunks)

    def show_text(self, text: str) -> None:
        """Show other Markdown (all of it as the tail)."""
        self._chunks = []
        self._tail = _Chunk(text)
        self._width = 0
        self._relayout()

    def add_chunk(self, text: str) -> None:
        """Append a run of finished blocks; nothing already drawn is drawn again."""
        self._chunks.append(self._frozen_chunk(text))
        self._relayout()

    def _frozen_chunk(self, text: str) -> _Chunk:
        chunk = _Chunk(text)
        chunk.estimate = estimate_height(text, self._width)
        if self._width and chunk.estimate <= EAGER_ROWS:
            # A small chunk (a slow stream) is on screen now: draw it at once, so no
            # second layout follows. Big ones (a fast stream) are drawn when seen.
            self._draw(chunk)
        return chunk

    def advance(self, frozen: str, tail: str) -> None:
        """Freeze ``frozen`` (finished blocks, may be empty) and show ``tail`` after it.

        Called once per frame while a reply streams. When the stepped height does
        not change (most frames) only the rows that changed are repainted, each up
        to its last changed cell; nothing is laid out again.
        """
        top = sum(chunk.height for chunk in self._chunks)
        old = self._tail.strips
        added = self._frozen_chunk(frozen) if frozen else None
        if added is not None:
            self._chunks.append(added)
        self._tail = _Chunk(tail)
        if (
            self._heights_changed
            or not self._width
            or old is None
            or (added is not None and added.strips is None)
        ):
            self._relayout()
            return
        new = [*(added.strips if added is not None else ()), *self._draw(self._tail)]
        if self._target_height(top + len(new)) != self._height:
            self._relayout()
            return
        blank = Strip.blank(self._width, self.rich_style)
        for y, (before, after) in enumerate(zip_longest(old, new, fillvalue=blank), top):
            extent = changed_extent(before, after)
            if extent:
                self.refresh(Region(0, y, min(extent, self._width), 1))

    def _moved_from(self, y: int) -> None:
        total = sum(chunk.height for chunk in (*self._chunks, self._tail))
        if self._target_height(total) != self._height:
            self._relayout()
        elif y < self._height:
            self.refresh(Region(0, y, self._width, self._height - y))

    def _relayout(self) -> None:
        self.relayouts += 1
        self._heights_changed = False
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._drawn_style is not None and self.rich_style != self._drawn_style:
            self._drawn_style = None
            self._width = 0  # draw everything again, in the new colours

    def _set_width(self, width: int) -> None:
        if width == self._width:
            return
        self._width = width
        for chunk in (*self._chunks, self._tail):
            chunk.strips = None
            chunk.estimate = estimate_height(chunk.text, width)

    def _draw(self, chunk: _Chunk) -> list[Strip]:
        if chunk.strips is None:
            chunk.strips = self._render_text(chunk.text, self._width)
        return chunk.strips

    def _render_text(self, text: str, width: int) -> list[Strip]:
        if not text.strip() or width <= 0:
            return []
        # Markdown and syntax highlighting load with the first reply drawn, not at start.
        from lmtui.ui.chat_markdown import ChatMarkdown

        self._drawn_style = self.rich_style
        console = self.app.console
        options = console.options.update(width=width, height=None, highlight=False)
        rendered = console.render_lines(
            ChatMarkdown(text), options, style=self.rich_style, pad=True
        )
        return [Strip(line, width) for line in rendered]

    def lines(self, width: int) -> list[Strip]:
        """Every line at ``width``, rendering what was not drawn yet."""
        self._set_width(width)
        strips: list[Strip] = []
        for chunk in (*self._chunks, self._tail):
            strips.extend(self._draw(chunk))
        return strips

    def render_next(self, relayout: bool = True) -> bool:
        """Draw one chunk not drawn yet; False when all are drawn (call again until then).

        With ``relayout`` False a changed height is not laid out: the caller does it
        once, after the last chunk (see :meth:`MarkdownBody.render_all`).
        """
        for chunk in self._chunks:
            if chunk.strips is None and self._width:
                before = chunk.height
                self._draw(chunk)
                if chunk.height != before and relayout:
                    self._relayout()
                return True
        return False

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._set_width(width)
        self._draw(self._tail)
        self._height = self._target_height(sum(c.height for c in (*self._chunks, self._tail)))
        if self.step > 1:
            self._floor = self._height
        return self._height

    def _target_height(self, rows: int) -> int:
        return max(self._floor, -(-rows // self.step) * self.step)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._set_width(width)
        top = 0
        for chunk in (*self._chunks, self._tail):
            height = chunk.height
            if y < top + height:
                if chunk.strips is None:
                    self._draw(chunk)
                    if chunk.height != height:
                        # The guess was off: the rows below moved (and the height may change).
                        # Every layout rewrites the pane on the terminal: while streaming the
                        # next frame lays out, at the end of a reply settle() does it once.
                        self._heights_changed = True
                        if self.step == 1 and not self._settling:
                            self.call_later(self._moved_from, top + min(height, chunk.height))
                strips = chunk.strips or []
                if y - top < len(strips):
                    return strips[y - top]
                break
            top += height
        return Strip.blank(width, self.rich_style)

    def plain_text(self) -> str:
        """What is drawn, as plain text (for tests and copying what you see)."""
        width = self.size.width or 80
        return "\n".join(strip.text.rstrip() for strip in self.lines(width))


class MarkdownBody(MarkdownLines):
    """A reply's Markdown: frozen finished blocks, then the live tail, in one widget."""

    DEFAULT_CSS = """
    MarkdownBody {
        height: auto;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(text, classes=classes)
        self._source = text
        self._frozen_to = 0  # offset of the end of the frozen chunks
        self._view_rows = 0  # the pane's height, while streaming

    @property
    def source(self) -> str:
        """All the Markdown shown so far."""
        return self._source

    def streaming(self, on: bool, rows: int = 0) -> None:
        """While streaming, grow in steps of :func:`stream_step` of ``rows`` (the pane's height).

        Each step is one relayout and one scroll of the pane — a full repaint —
        for a quarter of a screen of new lines; off, the height is the text's again.
        """
        if on:
            self._view_rows = rows
        self.set_step(stream_step(rows) if on else 1)

    async def append(self, more: str) -> None:
        """Add text: freeze any blocks it finished, redraw the tail."""
        self._source += more
        split = split_finished(self._source, self._frozen_to)
        frozen = ""
        # Freezing needs a render of its own: do it for a few finished blocks at a time.
        if split - self._frozen_to >= FREEZE_MIN_CHARS:
            frozen = self._source[self._frozen_to : split]
            self._frozen_to = split
        self.advance(frozen, self._source[self._frozen_to :])

    async def set_text(self, text: str) -> None:
        """Replace everything (after an edit, or at load)."""
        self._source = text
        self._frozen_to = 0
        self.show_text(text)

    @property
    def undrawn(self) -> bool:
        """True when some frozen chunk has not been drawn yet (it was never seen)."""
        return any(chunk.strips is None for chunk in self._chunks)

    def finish(self) -> bool:
        """The reply ended: draw its end (what the pane shows now) and hold back layouts.

        Returns True when chunks scrolled past unseen remain to be drawn: then run
        :meth:`settle` in the background, else await it (it returns at once).
        """
        self._settling = True
        rows = 0
        for chunk in reversed(self._chunks):
            if rows >= self._view_rows or not self._width:
                break
            self._draw(chunk)
            rows += chunk.height
        return self.undrawn

    async def settle(self) -> None:
        """Draw the chunks not drawn yet, then take the text's exact height: one layout.

        Chunks are drawn one per turn of the loop, and the height is laid out once
        at the end, not per chunk: each layout rewrites the whole pane on the terminal.
        """
        self._settling = True
        try:
            while self.render_next(relayout=False):
                await asyncio.sleep(0)
        finally:
            self._settling = False
        if self.step == 1 and self._heights_changed:
            self._relayout()
        self.streaming(False)
