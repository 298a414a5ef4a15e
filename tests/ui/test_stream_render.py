"""The per-frame renderer, the bounded chat view and the message helpers, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from lmtui.services.chat import COMPLETE, STOPPED, Entry
from lmtui.ui.chat_view import MAX_MOUNTED, OLDER_BATCH, ChatView
from lmtui.ui.markdown_body import MarkdownBody, MarkdownLines, split_finished
from lmtui.ui.message import MessageWidget, describe_footer, last_code_block
from lmtui.ui.stream_render import StreamRenderer


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


async def test_renderer_batches_deltas_into_one_append_per_frame() -> None:
    app = MarkdownHost()
    async with app.run_test() as pilot:
        md = app.query_one(MarkdownBody)
        reasoning: list[str] = []
        renderer = StreamRenderer(md, reasoning.append)
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
        assert md.query_one(".frozen", MarkdownLines).text
        drawn = md.plain_text()
        assert "Title" in drawn and "# Title" not in drawn
        assert "x = 1" in drawn and "```" not in drawn
        renderer.add_content("\n- item one\n- item")
        await renderer.flush()
        await pilot.pause()
        assert "• item one" in md.plain_text()


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
        while lines.render_all():
            pass
        assert all(c.strips is not None for c in lines._chunks)
        first = lines._chunks[0].strips
        lines.lines(lines.size.width)
        assert lines._chunks[0].strips is first  # same width: not drawn again
        lines.lines(20)
        assert lines._chunks[0].strips is not first
        assert "Part 49" in lines.plain_text()
