"""The chat app against a misbehaving server: it keeps responding and keeps what arrived."""

from __future__ import annotations

from collections.abc import Callable

from textual import events

from lmtui.services.chat import COMPLETE, INTERRUPTED, STOPPED
from lmtui.ui.app import LmtuiApp
from lmtui.ui.markdown_body import MarkdownBody
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


async def test_thirty_second_first_token_stays_responsive_and_esc_cancels(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="too late", first_token_delay=30.0))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "slow one")
        await wait_until(pilot, lambda: app.chat_screen.streaming)
        # The request is on the wire and nothing has come back yet.
        await wait_until(pilot, lambda: len(fake.requests_to("/v1/chat/completions")) == 1)
        await wait_until(pilot, lambda: app.chat_screen.status.speed.startswith("waiting "))
        widget = list(app.chat_screen.chat.message_widgets())[-1]
        assert widget.entry.role == "assistant"
        assert "Esc stops" in str(widget.query_one(".meta").render())
        # Typing works while the app waits.
        await pilot.press(*"next question")
        assert app.chat_screen.composer.text == "next question"
        assert app.chat_screen.streaming
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.chat_screen.streaming, steps=50)
        await pilot.pause()
        reply = app.chat_screen.session.entries[-1]
        assert reply.state == STOPPED
        assert reply.content == ""
        assert (
            app.chat_screen.composer.text == "next question"
        )  # Esc stopped the reply, not the draft


async def test_stalled_stream_in_the_app_is_interrupted_with_the_detail(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(text="partial words then silence", stall_after=2))
    app = make_app(read_timeout=0.3)
    async with app.run_test() as pilot:
        await send(pilot, "stall please")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        assert reply.state == INTERRUPTED
        assert reply.content == "partial "
        assert reply.detail == "no data from the server for 0.3 s"
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None and widget.has_class("-interrupted")
        assert "interrupted" in str(widget.query_one(".meta").render())
        assert "partial" in widget.query_one(".body", MarkdownBody).plain_text()


async def test_five_megabyte_reply_finishes_and_the_app_still_answers_keys(
    fake: FakeServer, make_app: AppFactory
) -> None:
    paragraph = "Some **bold** words, `code`, and plain text to fill a line. " * 8 + "\n\n"
    text = paragraph * (5_000_000 // len(paragraph) + 1)
    deltas = [text[i : i + 256] for i in range(0, len(text), 256)]
    fake.enqueue(Reply(deltas=deltas))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "a very long answer")
        await wait_until(pilot, lambda: not app.chat_screen.streaming, steps=6000)
        await pilot.pause()
        reply = app.chat_screen.session.entries[-1]
        assert reply.state == COMPLETE
        assert reply.content == text
        await pilot.press(*"still here")
        assert app.chat_screen.composer.text == "still here"
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        assert "finish: stop" in str(widget.query_one(".meta").render())


async def test_a_one_megabyte_paste_is_kept_whole_and_sent(
    fake: FakeServer, make_app: AppFactory
) -> None:
    line = "pasted line with ünïcode and\ttabs " * 3 + "\n"
    pasted = (line * (1_000_000 // len(line) + 1))[:1_000_000]
    fake.enqueue(Reply(content="got it"))
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.focus()
        app.post_message(events.Paste(pasted))  # what the driver posts for a bracketed paste
        await wait_until(pilot, lambda: len(app.chat_screen.composer.text) >= len(pasted))
        assert app.chat_screen.composer.text == pasted
        assert app.chat_screen.session.entries == []
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[0].content == pasted
        chats = fake.requests_to("/v1/chat/completions")
        assert chats[-1].json["messages"][-1]["content"] == pasted
        assert app.chat_screen.session.entries[-1].content == "got it"
