"""Markdown for replies, drawn with few widgets so long replies stream fast.

Textual's ``Markdown`` widget mounts one or more widgets per block; a long reply
has thousands, and mounting and laying them out costs seconds (measured: ~10 s
for a 4,000-delta reply). Here a reply is a handful of ``Static`` widgets
holding Rich Markdown renderables instead: finished blocks are frozen into a
chunk that is rendered once, and only the unfinished tail is re-rendered, once
per frame. Headings, lists, tables, quotes and highlighted code blocks all show
while the reply streams.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from itertools import zip_longest
from typing import ClassVar

from markdown_it import MarkdownIt
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading, Markdown, MarkdownElement
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

CODE_THEME = "monokai"
# While a reply streams its last block grows this many rows at a time: one relayout
# (and one full repaint of the scrolled pane) per TAIL_STEP new lines, not per line.
TAIL_STEP = 4
# Finished blocks stay in the (redrawn) tail until they add up to this many characters.
FREEZE_MIN_CHARS = 400
EAGER_ROWS = 16


class _LeftHeading(Heading):
    """A heading aligned left, as chat text reads best."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text.copy()
        text.justify = "left"
        yield text


@lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | str:
    # Rich looks the lexer up again for every code block and every render.
    try:
        lexer: Lexer = get_lexer_by_name(name)
    except ClassNotFound:
        return "text"
    return lexer


class _CodeBlock(CodeBlock):
    """A highlighted code block that reuses its lexer."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(code, _lexer(self.lexer_name), theme=self.theme, word_wrap=True, padding=1)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Building a parser costs ~10 ms; Rich builds one per document.
    return MarkdownIt().enable("strikethrough").enable("table")


class ChatMarkdown(Markdown):
    """Rich Markdown with left-aligned headings, a shared parser and no hyperlinks."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "heading_open": _LeftHeading,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
    }

    def __init__(self, text: str) -> None:  # Rich's own __init__ builds a new parser
        self.markup = text
        self.parsed = _parser().parse(text)
        self.code_theme = CODE_THEME
        self.justify = None
        self.style = "none"
        # No OSC 8 hyperlinks: a link target is model text and stays plain.
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = CODE_THEME


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


class MarkdownLines(Widget):
    """Markdown drawn into cached lines, chunk by chunk, only where it is seen.

    A ``Static`` renders a Rich renderable once to measure its height and again
    to paint it. Here the text is a list of chunks (runs of whole blocks), each
    rendered at most once per width and only when one of its lines is painted;
    until then its height is estimated from its source. A reply streaming at
    the bottom of the screen therefore renders what is visible, and the chunks
    scrolled out of view are drawn when seen or by :meth:`render_all`.
    """

    DEFAULT_CSS = """
    MarkdownLines {
        height: auto;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._chunks: list[_Chunk] = [_Chunk(text)] if text else []
        self._width = 0
        self.step = 1  # the height grows in steps of this many rows

    def set_step(self, step: int) -> None:
        """Grow in steps of ``step`` rows (fewer relayouts and repaints while streaming)."""
        if step != self.step:
            self.step = step
            self.refresh(layout=True)

    @property
    def text(self) -> str:
        """The Markdown source shown."""
        return "".join(c.text for c in self._chunks)

    def set_text(self, text: str) -> None:
        """Show other Markdown."""
        self._chunks = [_Chunk(text)] if text else []
        self._width = 0
        self.refresh(layout=True)

    def update_text(self, text: str) -> None:
        """Show other Markdown, repainting only the lines that changed.

        For the growing tail of a streamed reply: when its height is unchanged
        (most frames) only the changed rows are redrawn, so the terminal is not
        sent the whole block again on every frame.
        """
        old = self._chunks[0].strips if len(self._chunks) == 1 else None
        self._chunks = [_Chunk(text)] if text else []
        if not self._width or old is None or not self._chunks:
            self._width = 0
            self.refresh(layout=True)
            return
        new = self._draw(self._chunks[0])
        if self._stepped(len(new)) != self._stepped(len(old)):
            self.refresh(layout=True)
            return
        pairs = enumerate(zip_longest(old, new))
        changed = [Region(0, y, self._width, 1) for y, (a, b) in pairs if a != b]
        if changed:
            self.refresh(*changed)

    def add_chunk(self, text: str) -> None:
        """Append a run of finished blocks; nothing already drawn is drawn again."""
        chunk = _Chunk(text)
        chunk.estimate = estimate_height(text, self._width)
        if self._width and chunk.estimate <= EAGER_ROWS:
            # A small chunk (a slow stream) is on screen now: draw it at once, so no
            # second layout follows. Big ones (a fast stream) are drawn when seen.
            self._draw(chunk)
        self._chunks.append(chunk)
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        self._width = 0
        super().notify_style_update()

    def _set_width(self, width: int) -> None:
        if width == self._width:
            return
        self._width = width
        for chunk in self._chunks:
            chunk.strips = None
            chunk.estimate = estimate_height(chunk.text, width)

    def _draw(self, chunk: _Chunk) -> list[Strip]:
        if chunk.strips is None:
            chunk.strips = self._render_text(chunk.text, self._width)
        return chunk.strips

    def _render_text(self, text: str, width: int) -> list[Strip]:
        if not text.strip() or width <= 0:
            return []
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
        for chunk in self._chunks:
            strips.extend(self._draw(chunk))
        return strips

    def render_all(self) -> bool:
        """Draw one chunk not drawn yet; False when all are drawn (call again until then)."""
        for chunk in self._chunks:
            if chunk.strips is None and self._width:
                before = chunk.height
                self._draw(chunk)
                if chunk.height != before:
                    self.refresh(layout=True)
                return True
        return False

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._set_width(width)
        if len(self._chunks) == 1:  # a message at rest: its real height
            self._draw(self._chunks[0])
        return self._stepped(sum(chunk.height for chunk in self._chunks))

    def _stepped(self, height: int) -> int:
        return -(-height // self.step) * self.step

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._set_width(width)
        top = 0
        for chunk in self._chunks:
            height = chunk.height
            if y < top + height:
                if chunk.strips is None:
                    self._draw(chunk)
                    if chunk.height != height:
                        # The guess was off: lay out again with the real height.
                        self.call_later(self.refresh, layout=True)
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


class MarkdownBody(Vertical):
    """A reply's Markdown: the frozen finished blocks above, one live tail below."""

    DEFAULT_CSS = """
    MarkdownBody {
        height: auto;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._source = text
        self._frozen_to = 0  # offset of the end of the frozen chunks
        self._frozen = MarkdownLines(classes="frozen")
        self._tail = MarkdownLines(text, classes="tail")

    @property
    def source(self) -> str:
        """All the Markdown shown so far."""
        return self._source

    def compose(self) -> ComposeResult:
        yield self._frozen
        yield self._tail

    def streaming(self, on: bool) -> None:
        """While streaming, let the tail grow in steps of a few rows."""
        self._tail.set_step(TAIL_STEP if on else 1)

    async def append(self, more: str) -> None:
        """Add text: freeze any blocks it finished, redraw the tail."""
        self._source += more
        split = split_finished(self._source, self._frozen_to)
        # Freezing costs a relayout: do it for a few finished blocks at a time.
        if split - self._frozen_to >= FREEZE_MIN_CHARS:
            chunk = self._source[self._frozen_to : split]
            self._frozen_to = split
            self._frozen.add_chunk(chunk)
        self._tail.update_text(self._source[self._frozen_to :])

    async def set_text(self, text: str) -> None:
        """Replace everything (after an edit, or at load)."""
        self._frozen.set_text("")
        self._source = text
        self._frozen_to = 0
        self._tail.set_text(text)

    async def render_all(self) -> None:
        """Draw the chunks scrolled past while streaming, one per turn of the loop."""
        while self._frozen.render_all():
            await asyncio.sleep(0)

    def plain_text(self) -> str:
        """What is drawn, as plain text."""
        return "\n".join(part.plain_text() for part in self.query(MarkdownLines))
