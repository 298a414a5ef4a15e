"""Markdown for replies, drawn by one widget into cached lines so long replies stream cheaply.

Finished blocks are frozen into chunks rendered once; only the unfinished tail is
rendered again each frame. While a reply streams its height grows in steps of
a quarter of the pane, and between steps only changed rows are repainted. The reasons
and the measurements are in docs/rendering.md.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import OrderedDict, deque
from collections.abc import Sequence
from itertools import zip_longest

from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from lmtui.ui.gc_tuning import IdleSweep, reply_streaming
from lmtui.ui.markdown_split import cut_blocks, split_points
from lmtui.ui.textual_compat import HeldStrip, QuietResize, follows_end

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
# A message shown at rest (opened from history) longer than this is cut into chunks
# drawn when seen; shorter ones are drawn whole.
REST_CHUNK_CHARS = 8192
# At the end of a reply, chunks scrolled past unseen are drawn (for its exact height)
# only up to this many characters from its end; older ones are drawn when seen.
SETTLE_MAX_CHARS = 64_000
# The drawn lines of frozen chunks kept at most (the least recently painted are dropped
# first, keeping their height, and drawn again when seen): each row is a dozen objects
# that every full garbage collection walks, and a 5 MB reply draws ~100,000 rows.
DRAWN_ROWS_MAX = 1000
# Before each chunk drawn ahead of a layout (or by settle), the loop is left to other
# work this long: a key typed meanwhile is handled and painted first.
DRAW_AHEAD_PAUSE = 0.001
# settle() waits for the paint of the reply's end at most this long, looking this often.
END_PAINT_WAIT = 0.5
END_PAINT_POLL = 0.005


def split_finished(text: str, start: int = 0) -> int:
    """Where the finished blocks of ``text`` end: after the last safe blank line.

    A split point is a blank line outside a code fence that is followed by a
    line starting at column 0 (so an indented continuation of a list item is
    never cut from its item). Returns an offset ≥ ``start``; ``start`` when
    there is no new split point. ``start`` must itself be a split point.
    """
    last = deque(split_points(text, start), maxlen=1)
    return last[0] if last else start


class _Chunk:
    """A run of whole Markdown blocks and its lines at the current width, once drawn.

    ``estimate`` is its height while it has no lines: a guess from its source, or its
    real height when its lines were dropped (``exact``).
    """

    __slots__ = ("estimate", "exact", "seen", "strips", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.strips: list[Strip] | None = None
        self.estimate = 0
        self.exact = False  # estimate is the height it was drawn at
        self.seen = 0  # the paint that last used its lines

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
        # _ends[i]: the row below chunk i; valid for i < _ends_valid (heights change when
        # a chunk is drawn), so finding a row's chunk is a bisection, not a walk.
        self._ends: list[int] = []
        self._ends_valid = 0
        self._undrawn_from = 0  # no chunk before this index is undrawn
        self._tail = _Chunk(text)
        self._width = 0
        self.step = 1  # the height grows in steps of this many rows
        self._floor = 0  # while stepping, the height never shrinks below this
        self._height = -1  # the height last given to the layout
        self.relayouts = 0  # times the text asked for a new layout (tests count these)
        self._drawn_style: Style | None = None  # the style of the lines drawn, if any
        self._heights_changed = False  # a chunk's real height differs from its estimate
        self._settling = False  # the reply ended; its last layout is still to come
        # Frozen chunks holding lines, least recently painted first, and their rows.
        self._drawn: OrderedDict[_Chunk, None] = OrderedDict()
        self._drawn_rows = 0
        # Counts paints (and other passes that draw): lines of the current one are kept.
        self._paint = 1
        self._shown = 0  # counts show_text calls: a text replaced while a frame was drawn
        self._painted = 0  # counts the screen's paints of this widget
        # While settle() draws: the height laid out at the reply's end is kept, rows
        # counted from the bottom (see settle()).
        self._hold_height = False

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

    def show_text(self, text: str, chunks: Sequence[str] = ()) -> None:
        """Show other Markdown: ``chunks`` (whole blocks, drawn when seen), then ``text``."""
        self._chunks = [_Chunk(piece) for piece in chunks]
        self._shown += 1
        self._ends_valid = self._undrawn_from = 0
        self._forget_drawn()
        self._tail = _Chunk(text)
        self._width = 0
        self._relayout()

    def add_chunk(self, text: str) -> None:
        """Append a run of finished blocks; nothing already drawn is drawn again."""
        self._freeze(self._new_chunks([text]))
        self._relayout()

    def _new_chunks(self, texts: Sequence[str]) -> list[_Chunk]:
        """Chunks for runs of finished blocks, with estimated heights; nothing drawn."""
        added = [_Chunk(text) for text in texts if text]
        for chunk in added:
            chunk.estimate = estimate_height(chunk.text, self._width)
        return added

    def _freeze(self, added: Sequence[_Chunk]) -> None:
        """Append ``added``; draw the last ones now if they are few rows."""
        rows = 0
        for chunk in reversed(added):
            rows += chunk.height
            if self._width and rows <= EAGER_ROWS:
                # A few rows (a slow stream) are on screen now: draw them at once, so
                # no second layout follows. The rest (a fast stream) is drawn when seen.
                self._draw(chunk, frozen=True)
        self._chunks.extend(added)

    def _frozen_rows(self, upto: int | None = None) -> int:
        """The rows of the frozen chunks before index ``upto`` (all of them by default)."""
        count = len(self._chunks) if upto is None else upto
        if count == 0:
            return 0
        self._update_ends(count)
        return self._ends[count - 1]

    def _update_ends(self, count: int) -> None:
        """Bring ``_ends`` up to date for the first ``count`` chunks."""
        if self._ends_valid >= count:
            return
        del self._ends[self._ends_valid :]
        row = self._ends[-1] if self._ends else 0
        for chunk in self._chunks[self._ends_valid : count]:
            row += chunk.height
            self._ends.append(row)
        self._ends_valid = count

    def advance(self, frozen: str | Sequence[str], tail: str) -> None:
        """Freeze ``frozen`` (finished blocks, may be empty) and show ``tail`` after it.

        ``frozen`` may come as several pieces (see ``markdown_split.cut_blocks``), each
        a chunk of its own. Called once per frame while a reply streams. When the
        stepped height does not change (most frames) only the rows that changed are
        repainted, each up to its last changed cell; nothing is laid out again.
        """
        self._advance(self._new_chunks([frozen] if isinstance(frozen, str) else frozen), tail)

    def _advance(self, added: Sequence[_Chunk], tail: str) -> None:
        """:meth:`advance` with the frozen pieces already made into chunks (some drawn)."""
        top = self._frozen_rows()
        old = self._tail.strips
        self._freeze(added)
        self._tail = _Chunk(tail)
        if (
            self._heights_changed
            or not self._width
            or old is None
            or any(chunk.strips is None for chunk in added)
        ):
            self._relayout()
            return
        new = [strip for chunk in added for strip in chunk.strips or ()]
        new.extend(self._draw(self._tail))
        if self._target_height(top + len(new)) != self._height:
            self._relayout()
            return
        blank = Strip.blank(self._width, self.rich_style)
        for y, (before, after) in enumerate(zip_longest(old, new, fillvalue=blank), top):
            extent = changed_extent(before, after)
            if extent:
                self.refresh(Region(0, y, min(extent, self._width), 1))

    def _moved_from(self, y: int) -> None:
        total = self._frozen_rows() + self._tail.height
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
        self._ends_valid = self._undrawn_from = 0
        self._forget_drawn()
        for chunk in (*self._chunks, self._tail):
            chunk.strips = None
            chunk.exact = False
            chunk.estimate = estimate_height(chunk.text, width)

    def _forget_drawn(self) -> None:
        self._drawn.clear()
        self._drawn_rows = 0

    def _draw(self, chunk: _Chunk, index: int | None = None, frozen: bool = False) -> list[Strip]:
        """``chunk``'s lines, rendering it if needed.

        ``index`` is its place among the frozen chunks (None: the tail, or a chunk not
        yet appended), so the rows below it are placed again if its height changed.
        A frozen chunk (``index`` given or ``frozen``) may have its lines dropped later
        (see :meth:`_drop_old_lines`); the tail keeps its own.
        """
        strips = chunk.strips
        if strips is None:
            before = chunk.height
            strips = chunk.strips = self._render_text(chunk.text, self._width)
            if index is not None and chunk.height != before:
                self._ends_valid = min(self._ends_valid, index)
            if index is not None or frozen:
                chunk.seen = self._paint
                self._drawn[chunk] = None
                self._drawn_rows += len(strips)
                self._drop_old_lines()
        return strips

    def _drop_old_lines(self) -> None:
        """Drop the lines of the least recently painted chunks beyond ``DRAWN_ROWS_MAX`` rows.

        A chunk keeps its height (``exact``), so nothing moves; its lines are drawn
        again, identical, if it is painted again. Chunks of the paint under way are kept.
        """
        drawn = self._drawn
        while self._drawn_rows > DRAWN_ROWS_MAX and drawn:
            oldest = next(iter(drawn))
            if oldest.seen >= self._paint:
                break
            del drawn[oldest]
            rows = len(oldest.strips or ())
            self._drawn_rows -= rows
            oldest.estimate = rows
            oldest.exact = True
            oldest.strips = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint += 1
        self._painted += 1
        return super().render_lines(crop)

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
        return [HeldStrip(line, width) for line in rendered]

    def lines(self, width: int) -> list[Strip]:
        """Every line at ``width``, rendering what was not drawn yet."""
        self._set_width(width)
        strips: list[Strip] = []
        for index, chunk in enumerate(self._chunks):
            self._paint += 1  # the lines are collected here: the chunk's own may go later
            strips.extend(self._draw(chunk, index))
        strips.extend(self._draw(self._tail))
        return strips

    def render_next(self, relayout: bool = True, start: int = 0) -> bool:
        """Draw one chunk not drawn yet, from index ``start`` on; False when all are drawn.

        Call again until it returns False. With ``relayout`` False a changed height is
        not laid out: the caller does it once, after the last chunk (see
        :meth:`MarkdownBody.settle`).
        """
        if not self._width:
            return False
        index = max(start, self._undrawn_from)
        self._paint += 1  # a pass of its own: what it draws may be dropped by the next
        while index < len(self._chunks):
            chunk = self._chunks[index]
            if chunk.strips is None and not chunk.exact:
                before = chunk.height
                self._draw(chunk, index)
                if chunk.height != before and relayout:
                    self._relayout()
                if start <= self._undrawn_from:
                    self._undrawn_from = index + 1
                return True
            index += 1
        if start <= self._undrawn_from:
            self._undrawn_from = index
        return False

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._hold_height and width == self._width and self._height >= 0:
            return self._height
        self._hold_height = False  # resized meanwhile: every height changes anyway
        self._set_width(width)
        self._draw(self._tail)
        self._height = self._target_height(self._frozen_rows() + self._tail.height)
        if self.step > 1:
            self._floor = self._height
        return self._height

    def _target_height(self, rows: int) -> int:
        return max(self._floor, -(-rows // self.step) * self.step)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._set_width(width)
        frozen = self._frozen_rows()
        if self._hold_height:
            # The height is the one laid out before chunks above the view were drawn:
            # show the last rows, so the end stays where it was painted.
            y += frozen + self._tail.height - self._height
            if y < 0:
                return Strip.blank(width, self.rich_style)
        if y >= frozen:
            strips = self._draw(self._tail)
            if y - frozen < len(strips):
                return strips[y - frozen]
            return Strip.blank(width, self.rich_style)
        index = bisect_right(self._ends, y)  # the chunk holding row y
        chunk = self._chunks[index]
        top = self._ends[index - 1] if index else 0
        if chunk.seen != self._paint and chunk.strips is not None:
            chunk.seen = self._paint
            self._drawn.move_to_end(chunk)
        if chunk.strips is None:
            height = chunk.height
            self._draw(chunk, index)
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
        super().__init__("", classes=classes)
        # The text is kept in pieces: adding to one string the size of the reply would
        # copy all of it every frame (a 5 MB reply: 5 MB per frame).
        self._frozen: list[str] = []  # the text of the frozen chunks, in order
        self._live = ""  # the text after them: the unfinished blocks (the tail)
        self._view_rows = 0  # the pane's height, while streaming
        self._finished_at = 0  # _painted when finish() was called
        self._show_at_rest(text)

    def _show_at_rest(self, text: str) -> None:
        """Show a whole message; a long one in chunks, so opening it renders what is seen."""
        pieces = cut_blocks(text) if len(text) > REST_CHUNK_CHARS else [text]
        self._frozen = pieces[:-1]
        self._live = pieces[-1] if pieces else ""
        self.show_text(self._live, self._frozen)

    @property
    def source(self) -> str:
        """All the Markdown shown so far."""
        if len(self._frozen) > 1:
            self._frozen[:] = ["".join(self._frozen)]
        return "".join((*self._frozen, self._live))

    def streaming(self, on: bool, rows: int = 0) -> None:
        """While streaming, grow in steps of :func:`stream_step` of ``rows`` (the pane's height).

        Each step is one relayout and one scroll of the pane — a full repaint —
        for a quarter of a screen of new lines; off, the height is the text's again.
        """
        if on:
            self._view_rows = rows
        reply_streaming(self, on)
        if not on:
            sweeper = getattr(self.app, "idle_sweep", None)  # the lmtui app's, not a test host's
            if isinstance(sweeper, IdleSweep):
                sweeper.arm()
        self.set_step(stream_step(rows) if on else 1)

    def on_unmount(self) -> None:
        reply_streaming(self, False)  # removed while it streamed

    async def append(self, more: str, *, draw_ahead: bool = True) -> None:
        """Add text: freeze any blocks it finished, redraw the tail.

        The work depends on the text added and the tail, not on the length of the
        reply: finished blocks are frozen in chunks of about ``CHUNK_CHARS``.
        ``draw_ahead``: draw the chunks the pane will show first, a turn of the loop
        apart (see :meth:`_draw_ahead`). The reply's last text does not: :meth:`finish`
        draws them next, and a paint between two would only show a state about to go.
        """
        self._live += more
        split = split_finished(self._live)
        frozen: list[str] = []
        # Freezing needs a render of its own: do it for a few finished blocks at a time.
        if split >= FREEZE_MIN_CHARS:
            self._frozen.append(self._live[:split])
            frozen = cut_blocks(self._live[:split])
            self._live = self._live[split:]
        added = self._new_chunks(frozen)
        shown, width = self._shown, self._width
        if draw_ahead:
            await self._draw_ahead(added, self._live)
        if self._shown != shown:
            return  # the whole text was replaced meanwhile (set_text): it holds this too
        if self._width != width:  # resized (or restyled) meanwhile: what was drawn is stale
            added = self._new_chunks([chunk.text for chunk in added])
        self._advance(added, self._live)

    async def _draw_ahead(self, added: Sequence[_Chunk], tail: str) -> None:
        """Draw the new chunks the pane will show at its end, one per turn of the loop.

        A fast frame freezes many chunks and is laid out again; the pane then shows the
        last of them. Drawn inside that layout's paint, they made it one long stall of
        the event loop (a 2 kB chunk with a table and code: 10-30 ms). Drawn here, one
        at a time with the loop free between them, a key typed meanwhile is handled
        and painted between two chunks, and the layout paints lines already drawn.
        Only while the pane follows the reply's end (not scrolled up).
        """
        if not self._width or not self._view_rows or not follows_end(self):
            return
        rows = estimate_height(tail, self._width)
        drew = False
        for chunk in reversed(added):
            if rows >= self._view_rows:
                break
            if chunk.strips is None:
                # A key that came meanwhile goes first: it passes through the app, the
                # screen and the focused widget's queues, a turn of the loop each.
                await asyncio.sleep(DRAW_AHEAD_PAUSE)
                self._draw(chunk, frozen=True)
                drew = True
            rows += chunk.height
        if drew:
            await asyncio.sleep(DRAW_AHEAD_PAUSE)  # and one typed during the last chunk

    async def set_text(self, text: str) -> None:
        """Replace everything (after an edit, or at load)."""
        self._show_at_rest(text)

    def _settle_from(self) -> int:
        """The first chunk :meth:`settle` draws: the last ``SETTLE_MAX_CHARS`` of the reply."""
        chars = 0
        index = len(self._chunks)
        while index > 0 and chars + len(self._chunks[index - 1].text) <= SETTLE_MAX_CHARS:
            index -= 1
            chars += len(self._chunks[index].text)
        return index

    @property
    def undrawn(self) -> bool:
        """True when a chunk that :meth:`settle` draws has not been drawn yet (never seen)."""
        return any(
            chunk.strips is None and not chunk.exact
            for chunk in self._chunks[self._settle_from() :]
        )

    def finish(self) -> bool:
        """The reply ended: draw its end (what the pane shows now) and hold back layouts.

        Returns True when chunks scrolled past unseen remain to be drawn: then run
        :meth:`settle` in the background, else await it (it returns at once).
        """
        self._settling = True
        self._finished_at = self._painted
        rows = 0
        for index in range(len(self._chunks) - 1, -1, -1):
            if rows >= self._view_rows or not self._width:
                break
            chunk = self._chunks[index]
            self._draw(chunk, index)
            rows += chunk.height
        # The exact height now (unseen chunks at their estimates), so the end is painted
        # where it stays: settle() then changes only rows above the view, if any.
        self.streaming(False)
        return self.undrawn

    async def _end_painted(self) -> None:
        """Wait until the widget was painted since :meth:`finish` (at most ``END_PAINT_WAIT`` s).

        settle()'s drawing must not delay the paint of the reply's end. Started after
        a refresh, it could still run first: the screen runs such callbacks at once
        when it has nothing to paint yet, and the end's layout may not have reached it.
        A reply scrolled out of view is not painted: then it waits the whole bound.
        """
        waited = 0.0
        while self._painted == self._finished_at and waited < END_PAINT_WAIT:
            await asyncio.sleep(END_PAINT_POLL)
            waited += END_PAINT_POLL

    async def _after_refresh(self) -> None:
        """Wait until the screen has painted what is pending (at once when nothing is)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: done.done() or done.set_result(None))
        await done

    async def settle(self) -> None:
        """Draw the chunks not drawn yet, then take the text's exact height: one layout.

        Chunks are drawn one per turn of the loop, and the height is laid out once
        at the end, not per chunk: each layout rewrites the whole pane on the terminal.
        Only the last ``SETTLE_MAX_CHARS`` are drawn so: in a huge reply, older chunks
        keep their estimated height until they are scrolled to.
        """
        self._settling = True
        start = self._settle_from()
        try:
            if self.undrawn:
                await self._end_painted()
                # Each chunk drawn changes the reply's height; a layout that sees a new
                # height lays out again (Textual), so layouts came one after another,
                # 10-20 ms each, while keys waited. The height stays until the end.
                self._hold_height = True
            while self.render_next(relayout=False, start=start):
                # A key typed meanwhile, and its paint, go first: a pause of one turn let
                # the next chunk run before the key's paint (keys just after a 5 MB reply
                # waited up to ~75 ms); with nothing to paint this goes on at once.
                await self._after_refresh()
        finally:
            self._settling = False
            self._hold_height = False
        if self.step == 1 and self._heights_changed:
            self._relayout()
        self.streaming(False)
