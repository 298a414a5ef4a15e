"""The chat app against the fake server: send, stream, stop, regenerate, edit, continue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events

from lmtui.services.chat import COMPLETE, CONTINUE_PROMPT, REPEATING, STOPPED
from lmtui.services.continuation import FALLBACK_NOTE
from lmtui.ui.app import LmtuiApp
from lmtui.ui.markdown_body import MarkdownBody
from lmtui.ui.message import MessageWidget
from tests.fake_server import ASSISTANT_LAST_REJECTED, FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


def last_body(fake: FakeServer) -> dict[str, Any]:
    """The JSON body of the last chat request the fake received."""
    chats = [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert chats, "no chat request reached the server"
    body: dict[str, Any] = chats[-1].json
    return body


def chat_count(fake: FakeServer) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/chat/completions"))


async def test_send_shows_the_streamed_markdown_reply(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="# Heading\n\n- one\n- two\n\n```python\nprint('hi')\n```\n"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Show me markdown")
        await wait_idle(pilot)
        user, reply = app.chat_screen.session.entries
        assert user.content == "Show me markdown"
        assert reply.state == COMPLETE
        assert "print('hi')" in reply.content
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        drawn = widget.query_one(".body", MarkdownBody).plain_text()
        # Rendered, not raw: no '#', bullets drawn, the code without its fence.
        assert "Heading" in drawn and "# Heading" not in drawn
        assert "• one" in drawn
        assert "print('hi')" in drawn and "```" not in drawn
        footer = str(widget.query_one(".meta").render())
        assert "finish: stop" in footer
        assert last_body(fake)["messages"][-1] == {"role": "user", "content": "Show me markdown"}
        assert last_body(fake)["model"] == "test-model"
        assert app.chat_screen.composer.text == ""


async def test_escape_stops_and_keeps_partial_reply_and_prompt(
    fake: FakeServer, make_app: AppFactory
) -> None:
    words = [f"word{i} " for i in range(400)]
    fake.enqueue(Reply(deltas=words, delay=0.02))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Talk for a long time")
        await wait_until(
            pilot,
            lambda: (
                len(app.chat_screen.session.entries) == 2
                and bool(app.chat_screen.session.entries[1].content)
            ),
        )
        await pilot.press("escape")
        await wait_idle(pilot)
        user, reply = app.chat_screen.session.entries
        assert user.content == "Talk for a long time"
        assert reply.state == STOPPED
        assert reply.content.startswith("word0 ")
        assert len(reply.content) < len("".join(words))
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None and widget.has_class("-stopped")
        assert "stopped" in str(widget.query_one(".meta").render())
        # The prompt is still in the conversation, and can be resent.
        assert app.chat_screen.chat.widget_for(user) is not None


async def test_regenerate_replaces_the_last_reply(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="first answer"))
    fake.enqueue(Reply(content="second answer"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "question")
        await wait_idle(pilot)
        await pilot.press("ctrl+r")
        await wait_idle(pilot)
        contents = [e.content for e in app.chat_screen.session.entries]
        assert contents == ["question", "second answer"]
        assert chat_count(fake) == 2
        shown = [w.entry.content for w in app.chat_screen.chat.message_widgets()]
        assert shown == ["question", "second answer"]


async def test_edit_and_resend_from_a_focused_prompt(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="about cats"))
    fake.enqueue(Reply(content="about dogs"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "tell me about cats")
        await wait_idle(pilot)
        await pilot.press("ctrl+up", "up")  # the reply, then the prompt
        assert isinstance(app.focused, MessageWidget) and app.focused.entry.role == "user"
        await pilot.press("e")
        assert app.focused is app.chat_screen.composer
        assert app.chat_screen.composer.text == "tell me about cats"
        app.chat_screen.composer.set_text("tell me about dogs")
        await pilot.press("enter")
        await wait_idle(pilot)
        assert [e.content for e in app.chat_screen.session.entries] == [
            "tell me about dogs",
            "about dogs",
        ]
        assert last_body(fake)["messages"] == [{"role": "user", "content": "tell me about dogs"}]
        assert app.chat_screen.composer.editing_index is None


async def test_continue_after_a_length_finish(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="The start of a long", finish_reason="length"))
    fake.enqueue(Reply(content=" answer, finished."))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "write a lot")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        meta = str(widget.query_one(".meta").render())
        assert "length" in meta
        # The hint names the key that works from the composer, where focus is.
        assert "Ctrl+O continues" in meta and "n continues" not in meta
        assert app.focused is app.chat_screen.composer
        await pilot.press("ctrl+o")
        await wait_idle(pilot)
        assert len(app.chat_screen.session.entries) == 2
        assert (
            app.chat_screen.session.entries[-1].content == "The start of a long answer, finished."
        )
        # The partial reply is sent as the assistant's own text, for the server to extend.
        assert last_body(fake)["messages"][-1] == {
            "role": "assistant",
            "content": "The start of a long",
        }
        assert CONTINUE_PROMPT not in str(last_body(fake)["messages"])
        assert (
            widget.query_one(".body", MarkdownBody).source
            == "The start of a long answer, finished."
        )


async def test_continue_falls_back_to_a_user_turn_and_says_so(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="a wedding", finish_reason="length"))
    fake.enqueue(ASSISTANT_LAST_REJECTED)
    fake.enqueue(Reply(content="I am excited."))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "write a lot")
        await wait_idle(pilot)
        await pilot.press("ctrl+o")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        assert reply.content == "a wedding I am excited."  # not "a weddingI am"
        assert last_body(fake)["messages"][-1] == {"role": "user", "content": CONTINUE_PROMPT}
        assert reply.note == FALLBACK_NOTE and reply.error is None
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        assert "did not accept the partial reply" in str(widget.query_one(".meta").render())


async def test_copy_focused_message_and_code_block(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="Run this:\n\n```sh\necho hello\n```\n"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "a command please")
        await wait_idle(pilot)
        await pilot.press("ctrl+up")
        await pilot.press("c")
        assert app.clipboard == "Run this:\n\n```sh\necho hello\n```\n"
        await pilot.press("y")
        assert app.clipboard == "echo hello"
        await pilot.press("up", "c")
        assert app.clipboard == "a command please"


async def test_delete_message(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="an answer"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "q")
        await wait_idle(pilot)
        await pilot.press("ctrl+up", "d")
        await pilot.pause()
        assert [e.content for e in app.chat_screen.session.entries] == ["q"]
        assert [w.entry.content for w in app.chat_screen.chat.message_widgets()] == ["q"]


async def test_model_text_with_escapes_is_rendered_inert(
    fake: FakeServer, make_app: AppFactory
) -> None:
    evil = "title\x1b]0;pwned\x07 clip\x1b]52;c;aGVsbG8=\x07 red\x1b[31m bidi\u202e"
    fake.enqueue(Reply(content=evil))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "be evil")
        await wait_idle(pilot)
        widget = app.chat_screen.chat.widget_for(app.chat_screen.session.entries[-1])
        assert widget is not None
        body = widget.query_one(".body", MarkdownBody)
        source = body.source
        assert "\x1b" not in source and "\x07" not in source and "\u202e" not in source
        assert "␛]0;pwned␇" in source
        # What is drawn carries the visible stand-ins, never a raw escape.
        drawn = body.plain_text()
        assert "␛]52;c;aGVsbG8=␇" in drawn
        assert "\x1b" not in drawn


async def test_image_attach_is_sent_as_image_part(
    fake: FakeServer, make_app: AppFactory, tmp_path: Path
) -> None:
    png = tmp_path / "dot.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    fake.enqueue(Reply(content="a dot"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, f"/image {png}")
        await pilot.pause()
        assert app.chat_screen.chips.paths == [png]
        assert app.chat_screen.session.entries == []  # attaching does not send
        await send(pilot, "what is this?")
        await wait_idle(pilot)
        content = last_body(fake)["messages"][-1]["content"]
        assert content[0] == {"type": "text", "text": "what is this?"}
        assert content[1]["type"] == "image_url"
        assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert app.chat_screen.chips.paths == []


async def test_draft_survives_quitting(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.insert("half-written\nsecond line")
        await pilot.press("ctrl+q")
    again = make_app()
    async with again.run_test() as pilot:
        await pilot.pause()
        assert again.chat_screen.composer.text == "half-written\nsecond line"


async def test_draft_is_saved_after_typing_pauses(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press(*"draft")
        assert app.history is not None
        await wait_until(
            pilot, lambda: app.history is not None and app.history.load_draft("new") == "draft"
        )


async def test_editor_round_trip(make_app: AppFactory, tmp_path: Path, monkeypatch: Any) -> None:
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\nprintf 'from the editor\\n' > \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.insert("before")
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: app.chat_screen.composer.text == "from the editor")


async def test_ctrl_j_inserts_a_newline_and_enter_sends(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="ok"))
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.focus()
        await pilot.press("a", "ctrl+j", "b")
        assert app.chat_screen.composer.text == "a\nb"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[0].content == "a\nb"


async def test_a_stream_cut_midway_is_marked_interrupted(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(text="The beginning of an answer that breaks", cut_after=3))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "go on")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        assert reply.state == "interrupted"
        assert reply.content == "The beginnin"  # three 4-character deltas, then the cut
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None and widget.has_class("-interrupted")
        assert "interrupted" in str(widget.query_one(".meta").render())


async def test_a_server_error_shows_the_message_and_remedy(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app(model="no-such-model")
    async with app.run_test() as pilot:
        await send(pilot, "hello?")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        assert reply.state == "error"
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None and widget.has_class("-error")
        footer = str(widget.query_one(".meta").render())
        assert "no-such-model" in footer
        assert widget.remedy and widget.remedy in footer
        # The prompt is kept and can be sent again.
        assert app.chat_screen.session.entries[0].content == "hello?"


async def test_bracketed_paste_keeps_multiline_text(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.focus()
        app.post_message(events.Paste("first line\nsecond line\n\nfourth"))  # as the driver does
        await pilot.pause()
        assert app.chat_screen.composer.text == "first line\nsecond line\n\nfourth"
        assert app.chat_screen.session.entries == []  # pasting never sends


async def test_embedded_server_replies_are_capped_by_default(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="ok"))
    app = make_app(embedded_url=fake.base_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "hello")
        await wait_idle(pilot)
    sent: Any = [r for r in fake.requests if r.path == "/v1/chat/completions"][-1].json_body
    assert sent["max_tokens"] == app.cfg.local.max_tokens == 1024


async def test_a_looping_reply_is_flagged_on_screen(
    fake: FakeServer, make_app: AppFactory, monkeypatch: Any
) -> None:
    fake.enqueue(Reply(deltas=["We will dance ", "all night long. "] * 80))
    app = make_app()
    shown: list[str] = []
    original = app.notify

    def record(message: str, **kwargs: Any) -> None:
        shown.append(message)
        original(message, **kwargs)

    monkeypatch.setattr(app, "notify", record)
    async with app.run_test() as pilot:
        await send(pilot, "write an invitation")
        await wait_idle(pilot)
        widget = app.chat_screen.chat.widget_for(app.chat_screen.session.entries[-1])
        assert widget is not None
        assert "repeated itself" in str(widget.query_one(".meta").render())
    assert REPEATING in shown


async def test_a_reply_sent_before_its_widget_is_mounted_shows_its_text_once(
    fake: FakeServer, make_app: AppFactory, monkeypatch: Any
) -> None:
    """The request leaves before the messages are mounted (``Reply.start``).

    When the server's first delta is already in the entry as the reply's widget is
    built, the widget shows what the events add to, not the entry: else that delta
    would be drawn twice.
    """
    from lmtui.ui.chat_view import ChatView

    # No model in the chunks: the server's first event is then the first delta.
    fake.enqueue(Reply(text="Alpha beta gamma delta.", model_in_chunks=False))
    real_add = ChatView.add

    async def slow_add(self: ChatView, entry: Any, shown: Any = None) -> MessageWidget:
        if entry.role == "assistant":
            for _ in range(100):  # until the first delta is in the entry
                if entry.content:
                    break
                await asyncio.sleep(0.01)
            assert entry.content, "the request did not go out before the mount"
        return await real_add(self, entry, shown)

    monkeypatch.setattr(ChatView, "add", slow_add)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        body = widget.query_one(".body", MarkdownBody)
        assert reply.content == "Alpha beta gamma delta."
        assert body.text == reply.content


async def _restyles(fake: FakeServer, make_app: AppFactory, monkeypatch: Any) -> list[str]:
    """The roles of the messages restyled during one short reply; "end" at its end."""
    fake.enqueue(Reply(text="Done in one."))
    restyles: list[str] = []
    real_update = MessageWidget.update_node_styles
    real_finish = MessageWidget.finish_stream

    def update(self: MessageWidget, animate: bool = True) -> None:
        restyles.append(self.entry.role)
        real_update(self, animate)

    async def finish(self: MessageWidget) -> None:
        restyles.append("end")
        await real_finish(self)

    monkeypatch.setattr(MessageWidget, "update_node_styles", update)
    monkeypatch.setattr(MessageWidget, "finish_stream", finish)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
    return restyles


async def test_a_reply_s_end_restyles_its_message_once(
    fake: FakeServer, make_app: AppFactory, monkeypatch: Any
) -> None:
    """-streaming goes and -complete comes in one restyle of the message, not two."""
    restyles = await _restyles(fake, make_app, monkeypatch)
    assert restyles[restyles.index("end") + 1 :] == ["assistant"]


async def test_a_new_message_is_not_restyled_for_its_state_when_mounted(
    fake: FakeServer, make_app: AppFactory, monkeypatch: Any
) -> None:
    """The state's class comes with the widget: set at mount, it restyled each message."""
    restyles = await _restyles(fake, make_app, monkeypatch)
    assert restyles[: restyles.index("end")] == []  # none while the two were mounted
