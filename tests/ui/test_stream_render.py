"""The per-frame renderer, the bounded chat view and the message helpers, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip

from lmtui.services.chat import COMPLETE, STOPPED, STREAMING, Entry
from lmtui.ui.chat_view import MAX_MOUNTED, OLDER_BATCH, ChatView
from lmtui.ui.markdown_body import (
    MarkdownBody,
    MarkdownLines,
    changed_extent,
    split_finished,
    stream_step,
)
from lmtui.ui.message import MessageWidget, describe_footer, last_code_block
from lmtui.ui.stream_render import FRAME_SECONDS, SCROLL_GAP_SECONDS, StreamRenderer


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


class MarkdownHost(App[None]):
    def compose(self) -> ComposeResult:
        yield MarkdownBody("")


class ChatHost(App[None]):
    def compose(self) -> ComposeResult:
        yield ChatView(id="chat")


class FakeClock:
    """A clock for the renderer's scroll gap that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def late_clock() -> float:
    """A clock for which every frame comes long after the last (no scroll gap)."""
    late_clock.now += 10.0  # type: ignore[attr-defined]
    return late_clock.now  # type: ignore[attr-defined, no-any-return]


late_clock.now = 0.0  # type: ignore[attr-defined]


async def test_renderer_batches_deltas_into_one_append_per_frame() -> None:
    app = MarkdownHost()
    async with app.run_test() as pilot:
        md = app.query_one(MarkdownBody)
        reasoning: list[str] = []
        renderer = StreamRenderer(md, reasoning.append, clock=late_clock)
        filler = [f"Paragraph {i} with enough words to fill a line or two.\n\n" for i in range(8)]
        pieces = ["# Title\n\n", "Some ", "**bold** ", "text.\n\n", *filler]
        pieces += ["```py\n", "x = 1\n", "```\n"]
        for piece in pieces:
            renderer.add_content(piece)
        renderer.add_reasoning("thinking\x1b[31m")
        assert renderer.pending
        assert await renderer.flush()
        assert not await renderer.flush()  # nothing new: no work
        await pilot.pause()
        assert md.source == "".join(pieces)
        assert reasoning == ["thinking␛[31m"]
        assert renderer.deltas == len(pieces) + 1
        # Markdown is drawn while streaming, not only at the end: finished blocks are
        # frozen into chunks, the unfinished tail is redrawn each frame.
        assert md.frozen_text
        drawn = md.plain_text()
        assert "Title" in drawn and "# Title" not in drawn
        assert "x = 1" in drawn and "```" not in drawn
        renderer.add_content("\n- item one\n- item")
        await renderer.flush()
        await pilot.pause()
        assert "• item one" in md.plain_text()


async def test_drain_waits_for_a_flush_under_way_without_spinning_the_loop() -> None:
    import asyncio

    class HeldBody:
        """A body whose append waits until released, as one drawing chunks with pauses."""

        relayouts = 0

        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.texts: list[tuple[str, bool]] = []

        async def append(self, text: str, *, draw_ahead: bool = True) -> None:
            self.texts.append((text, draw_ahead))
            await self.release.wait()

    body = HeldBody()
    renderer = StreamRenderer(body, lambda _: None, clock=late_clock)  # type: ignore[arg-type]
    renderer.add_content("first")
    frame = asyncio.create_task(renderer.flush())
    await asyncio.sleep(0)  # the frame's flush is now drawing
    renderer.add_content(" second")
    flushes = 0
    original = renderer.flush

    async def counted(force: bool = False, *, last: bool = False) -> bool:
        nonlocal flushes
        flushes += 1
        return await original(force, last=last)

    renderer.flush = counted  # type: ignore[method-assign]
    drain = asyncio.create_task(renderer.drain())
    for _ in range(50):  # many turns of the loop while the frame's flush is held
        await asyncio.sleep(0)
    assert flushes == 1  # it asked once, then waited (it used to ask on every turn)
    body.release.set()
    await asyncio.wait_for(asyncio.gather(frame, drain), 5)
    # A frame draws the chunks the pane will show ahead, a turn apart; the reply's last
    # text does not (finish() draws them next: a paint between would be wasted).
    assert body.texts == [("first", True), (" second", False)]
    assert not renderer.pending


async def test_a_frame_cancelled_while_it_draws_still_shows_its_text() -> None:
    """Stopping the frame timer cancels the frame it is running; that frame's text stays.

    The reply's widget stops its frame timer when the stream ends, which cancels a frame
    still drawing ahead (a turn of the loop between chunks). Its text, already taken
    from the buffer, was then never shown: a fast reply's middle went missing on screen.
    """
    import asyncio

    class HeldBody:
        relayouts = 0

        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.shown: list[str] = []

        async def append(self, text: str, *, draw_ahead: bool = True) -> None:
            if draw_ahead:
                await self.release.wait()  # a frame, drawing its chunks a turn apart
            self.shown.append(text)

    body = HeldBody()
    renderer = StreamRenderer(body, lambda _: None, clock=late_clock)  # type: ignore[arg-type]
    renderer.add_content("first")
    frame = asyncio.create_task(renderer.flush())  # as the frame timer runs it
    await asyncio.sleep(0)
    renderer.add_content(" second")
    frame.cancel()  # the timer stopped at the reply's end
    await asyncio.sleep(0)
    body.release.set()
    await asyncio.wait_for(renderer.drain(), 5)
    assert body.shown == ["first", " second"]


async def test_renderer_makes_text_inert() -> None:
    app = MarkdownHost()
    async with app.run_test() as pilot:
        md = app.query_one(MarkdownBody)
        renderer = StreamRenderer(md, lambda _: None)
        renderer.add_content("evil \x1b]52;c;aGk=\x07 and \x1b[2J")
        await renderer.drain()
        await pilot.pause()
        assert "\x1b" not in md.source
        assert "\x07" not in md.source
        assert "␛]52;c;aGk=␇" in md.source


async def test_chat_view_mounts_only_the_last_messages() -> None:
    entries = [Entry("user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(500)]
    app = ChatHost()
    async with app.run_test() as pilot:
        chat = app.query_one(ChatView)
        await chat.show(entries)
        await pilot.pause()
        widgets = chat.message_widgets()
        assert len(widgets) == MAX_MOUNTED
        assert widgets[-1].entry is entries[-1]
        assert chat.hidden_before == 500 - MAX_MOUNTED
        added = await chat.show_older(entries)
        assert added == OLDER_BATCH
        assert chat.message_widgets()[0].entry is entries[500 - MAX_MOUNTED - OLDER_BATCH]


async def test_chat_view_prunes_as_messages_are_added() -> None:
    app = ChatHost()
    async with app.run_test():
        chat = app.query_one(ChatView)
        entries = [Entry("user", f"m{i}") for i in range(MAX_MOUNTED + 5)]
        for entry in entries:
            await chat.add(entry)
        assert len(chat.message_widgets()) == MAX_MOUNTED
        assert chat.hidden_before == 5
        assert chat.widget_for(entries[0]) is None
        assert isinstance(chat.widget_for(entries[-1]), MessageWidget)


def test_last_code_block_finds_the_last_fence() -> None:
    text = "intro\n```py\nfirst()\n```\nmiddle\n~~~\nsecond()\nthird()\n~~~\nend"
    assert last_code_block(text) == "second()\nthird()"
    assert last_code_block("no code here") is None
    assert last_code_block("```sh\nstill open\n") == "still open"


def test_footer_says_stopped_and_never_shows_raw_escapes() -> None:
    stopped = Entry("assistant", "part", model_used="m\x1b[31m", state=STOPPED)
    text = describe_footer(stopped)
    assert "stopped" in text
    assert "\x1b" not in text
    done = Entry("assistant", "all", model_used="qwen", state=COMPLETE)
    assert describe_footer(done).startswith("qwen")


def test_split_finished_never_cuts_a_fence_or_an_indented_continuation() -> None:
    text = "para one\n\n```py\na = 1\n\nb = 2\n```\n\n- item\n\n  more of the item\n\ntail"
    split = split_finished(text)
    assert text[split:] == "tail"
    # Inside an open fence nothing after the fence start is finished.
    open_fence = "intro\n\n```py\nx = 1\n\ny = 2\n"
    assert open_fence[split_finished(open_fence) :] == "```py\nx = 1\n\ny = 2\n"
    assert split_finished("no blank line yet") == 0
    # From a given start, only later split points count.
    assert split_finished("a\n\nb\n\nc", 3) == len("a\n\nb\n\n")


async def test_markdown_lines_draw_chunks_when_seen_and_once_per_width() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield MarkdownLines()

    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        lines = app.query_one(MarkdownLines)
        for i in range(50):
            lines.add_chunk(f"## Part {i}\n\nsome words here\n\n")
        await pilot.pause()
        # Only what was painted (the top of the screen) has been rendered.
        drawn = [c for c in lines._chunks if c.strips is not None]
        assert 0 < len(drawn) < 50
        while lines.render_next():
            pass
        assert all(c.strips is not None for c in lines._chunks)
        first = lines._chunks[0].strips
        lines.lines(lines.size.width)
        assert lines._chunks[0].strips is first  # same width: not drawn again
        lines.lines(20)
        assert lines._chunks[0].strips is not first
        assert "Part 49" in lines.plain_text()


# ---- what reaches the terminal while a reply streams ---------------------------------

APP_CSS = Path(__file__).resolve().parents[2] / "lmtui" / "ui" / "chat_screen.tcss"
PANE = (80, 24)


class StyledChatHost(App[None]):
    """The conversation pane alone, styled as in the app."""

    CSS_PATH = str(APP_CSS)

    def compose(self) -> ComposeResult:
        yield ChatView(id="chat")


class RowCounter:
    """Counts the screen rows of every update the app would write to its terminal."""

    def __init__(self, app: App[None]) -> None:
        self.updates: list[int] = []
        self.bytes = 0
        self.on = False
        show = app._display

        def display(screen: Any, renderable: Any) -> None:
            if self.on and isinstance(renderable, CompositorUpdate):
                text = renderable.render_segments(app.console)
                self.bytes += len(text.encode())
                if isinstance(renderable, ChopsUpdate):
                    # Rows rewritten over a useful width (not just the scrollbar's column).
                    wide = {y for y, x1, x2 in renderable.spans if x2 - x1 >= 8}
                    self.updates.append(len(wide))
                else:
                    self.updates.append(app.size.height)
            show(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def full(self, rows: int) -> int:
        """Updates that rewrote at least ``rows`` rows (a repaint of the whole pane)."""
        return sum(1 for count in self.updates if count >= rows)


async def _stream_lines(
    pilot: Pilot[Any], chat: ChatView, lines: int, *, scroll_up_at: int | None = None
) -> tuple[MessageWidget, list[bool]]:
    """Stream ``lines`` short paragraphs of one line each, one per frame."""
    entry = Entry("assistant", "", state=STREAMING)
    widget = await chat.add(entry)
    await pilot.pause()
    renderer = widget.start_stream()
    renderer.clock = late_clock  # every frame draws: this is about the pane's steps
    at_bottom: list[bool] = []
    for i in range(lines):
        if i == scroll_up_at:
            chat.scroll_to(y=0, animate=False)
            await pilot.pause()
        renderer.add_content(f"Line {i} of the reply, *short* enough to fit one row.\n\n")
        await renderer.flush()
        await pilot.pause()
        at_bottom.append(chat.max_scroll_y == 0 or chat.scroll_y == chat.max_scroll_y)
    entry.content = widget.query_one(".body", MarkdownBody).source
    entry.state = COMPLETE
    await widget.finish_stream()
    await pilot.pause()
    return widget, at_bottom


async def test_streaming_scrolls_in_steps_and_repaints_only_changed_rows() -> None:
    # Every layout of the pane rewrites all of its rows on the terminal: a reply must
    # grow in steps of a quarter of the pane, not one row (one full repaint) per new line.
    app = StyledChatHost()
    async with app.run_test(size=PANE) as pilot:
        chat = app.query_one(ChatView)
        await chat.add(Entry("user", "a long answer please"))
        await pilot.pause()
        counter = RowCounter(app)
        counter.on = True
        lines = 60  # 120 rows of text and blank lines: several screens
        widget, at_bottom = await _stream_lines(pilot, chat, lines)
        body = widget.query_one(".body", MarkdownBody)
        pane_rows = chat.scrollable_content_region.height
        step = stream_step(pane_rows)
        assert step >= 4
        grown = 2 * lines
        # One relayout per step (plus the start and the end), never one per line.
        assert body.relayouts <= grown // step + 4
        # ... and one repaint of the pane per step: Textual's own second one is skipped.
        assert counter.full(pane_rows) <= grown // step + 3
        # Between steps a frame rewrites the rows that changed, not the pane.
        small = [count for count in counter.updates if count <= 3]
        assert len(small) >= lines - (grown // step) - 4
        # The view followed the tail all along, and the final height is the text's.
        assert all(at_bottom)
        assert chat.scroll_y == chat.max_scroll_y > 0
        assert body.size.height == len(body.lines(body.size.width))
        assert "Line 59 of the reply" in body.plain_text()


async def test_streaming_does_not_pull_the_view_back_after_the_user_scrolled_up() -> None:
    app = StyledChatHost()
    async with app.run_test(size=PANE) as pilot:
        chat = app.query_one(ChatView)
        _, at_bottom = await _stream_lines(pilot, chat, 40, scroll_up_at=20)
        assert all(at_bottom[:20])
        assert not any(at_bottom[20:])
        assert chat.scroll_y == 0


async def test_a_growing_line_is_repainted_only_up_to_its_last_changed_cell() -> None:
    app = MarkdownHost()
    async with app.run_test(size=(80, 10)) as pilot:
        md = app.query_one(MarkdownBody)
        renderer = StreamRenderer(md, lambda _: None, clock=late_clock)
        md.streaming(True, 20)
        renderer.add_content("A first paragraph.\n\nThe second one")
        await renderer.flush()
        await pilot.pause()
        counter = RowCounter(app)
        counter.on = True
        renderer.add_content(" grows")
        await renderer.flush()
        await pilot.pause()
        assert counter.updates == [1]  # one row
        # ... and only up to the end of the new text, not across all 80 columns.
        assert counter.bytes < 80


def test_changed_extent_ends_at_the_last_changed_cell() -> None:
    old = Strip([Segment("abc", Style(bold=True)), Segment("       ")])
    grown = Strip([Segment("abc", Style(bold=True)), Segment("de     ")])
    restyled = Strip([Segment("abc", Style(italic=True)), Segment("       ")])
    split = Strip(
        [Segment("a", Style(bold=True)), Segment("bc", Style(bold=True)), Segment(" " * 7)]
    )
    assert changed_extent(old, old) == 0
    assert changed_extent(old, split) == 0  # same cells, other segments
    assert changed_extent(old, grown) == 5
    assert changed_extent(grown, old) == 5
    assert changed_extent(old, restyled) == 3
    wide = Strip([Segment("日本", None), Segment("      ")])
    wider = Strip([Segment("日本語", None), Segment("    ")])
    assert changed_extent(wide, wider) == 10  # characters moved: the whole row


async def test_after_a_frame_that_scrolled_the_next_frames_wait() -> None:
    # A reply arriving faster than half a screen per frame would make every frame a
    # layout (a full repaint of the pane): after one, frames keep buffering for a while.
    app = MarkdownHost()
    async with app.run_test(size=(80, 10)) as pilot:
        md = app.query_one(MarkdownBody)
        clock = FakeClock()
        renderer = StreamRenderer(md, lambda _: None, clock=clock)
        md.streaming(True, 8)
        await pilot.pause()
        renderer.add_content("First line.\n\n")
        assert await renderer.flush()  # the first text lays the reply out
        await pilot.pause()
        renderer.add_content("More.\n\n" * 10)  # taller than a step
        clock.now += FRAME_SECONDS
        assert not await renderer.flush()
        assert renderer.pending
        clock.now += SCROLL_GAP_SECONDS
        assert await renderer.flush()
        assert not renderer.pending
        renderer.add_content("Even more.\n\n" * 10)
        clock.now += FRAME_SECONDS
        assert not await renderer.flush()
        await renderer.drain()  # the end of a reply is drawn at once
        assert not renderer.pending
        assert md.source.endswith("Even more.\n\n")
