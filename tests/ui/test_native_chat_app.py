"""The chat app against the fake LM Studio 0.4 server's /api/v1/chat (Pilot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lmtui.services.chat import STOPPED
from lmtui.ui.app import LmtuiApp
from lmtui.ui.reply_progress import ReplyProgress, describe_progress
from lmtui.ui.tool_calls import ToolCallBlock
from tests.fake_native_chat import FakeToolCall, NativeReply, native
from tests.fake_server import FakeServer
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]
UNLOADED = "deepseek-r1-distill-qwen-14b"
LOADED = "qwen2.5-7b-instruct"


@pytest.fixture
def native_fake(fake: FakeServer) -> FakeServer:
    fake.native_chat = True
    return fake


@pytest.fixture
def drawn_progress(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every progress line the replies drew, in order."""
    seen: list[str] = []
    original = ReplyProgress.show

    def show(self: ReplyProgress, extras: Any = None) -> None:
        original(self, extras)
        text = describe_progress(self.extras)
        if text is not None and (not seen or seen[-1] != text):
            seen.append(text)

    monkeypatch.setattr(ReplyProgress, "show", show)
    return seen


async def test_load_progress_rises_to_100_then_prompt_then_reply(
    native_fake: FakeServer, make_app: AppFactory, drawn_progress: list[str]
) -> None:
    native(native_fake).enqueue(
        NativeReply(
            text="Loaded and answered.",
            load_steps=(0.25, 0.5, 0.75, 1.0),
            prompt_steps=(0.5,),
            step_delay=0.05,
        )
    )
    app = make_app(model=UNLOADED)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "hello")
        await wait_idle(pilot)
        loads = [t for t in drawn_progress if t.startswith("Loading the model")]
        percents = [int(t.split("%")[0].split()[-1]) for t in loads]
        assert percents == sorted(percents) and percents[-1] == 100 and 25 in percents
        prompt = [t for t in drawn_progress if t.startswith("Processing the prompt")]
        assert prompt and drawn_progress.index(prompt[0]) > drawn_progress.index(loads[-1])
        reply = app.session.entries[-1]
        assert reply.content == "Loaded and answered."
        widget = app.chat.widget_for(reply)
        assert widget is not None
        # The progress line is gone; the footer shows LM Studio's figures, marked as its own.
        assert not widget.query_one(ReplyProgress).has_class("-active")
        footer = str(widget.query_one(".meta").render())
        assert "LM Studio 42.5 tok/s" in footer and "load 2.5 s" in footer
        assert reply.extras.route == "native: a new conversation on LM Studio's /api/v1/chat"


async def test_escape_during_a_load_stops_it_with_nothing_half_saved(
    native_fake: FakeServer, make_app: AppFactory, drawn_progress: list[str]
) -> None:
    native(native_fake).enqueue(NativeReply(load_steps=(0.1, 0.2, 0.3, 0.4), step_delay=1.0))
    app = make_app(model=UNLOADED)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "slow load")
        await wait_until(pilot, lambda: any("10%" in t for t in drawn_progress))
        await pilot.press("escape")
        await wait_idle(pilot)
        _, reply = app.session.entries
        assert reply.state == STOPPED and reply.content == ""
        assert app.history is not None and app.session.conversation_id is not None
        stored = app.history.get_conversation(app.session.conversation_id)[1]
        assert [(m.role, m.content) for m in stored] == [("user", "slow load")]
        widget = app.chat.widget_for(reply)
        assert widget is not None and not widget.query_one(ReplyProgress).has_class("-active")
    record = native_fake.requests_to("/api/v1/chat")[-1]
    assert record.done.wait(10)
    assert record.client_gone or not native_fake.model(UNLOADED).loaded  # type: ignore[union-attr]


async def test_reasoning_selector_offers_the_models_options_and_sends_the_choice(
    native_fake: FakeServer, make_app: AppFactory
) -> None:
    from textual.widgets import OptionList

    app = make_app(model=UNLOADED)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.sidebar.models))
        await pilot.press("alt+r")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["default", "off", "on"]
        await pilot.press("down", "enter")  # "off"
        await pilot.pause()
        assert app.session.reasoning == "off"
        await send(pilot, "no thinking please")
        await wait_idle(pilot)
        assert native_fake.requests_to("/api/v1/chat")[-1].json_body["reasoning"] == "off"


async def test_tool_calls_render_as_blocks_and_toggle(
    native_fake: FakeServer, make_app: AppFactory
) -> None:
    native(native_fake).enqueue(
        NativeReply(
            text="Here is the page title.",
            tool_calls=(
                FakeToolCall(
                    tool="browser_navigate",
                    arguments={"url": "https://example.com"},
                    output="Example Domain",
                ),
                FakeToolCall(tool="open_browser", failure="Cannot find tool", invalid_name=True),
            ),
        )
    )
    app = make_app(model=LOADED)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "open example.com")
        await wait_idle(pilot)
        widget = app.chat.widget_for(app.session.entries[-1])
        assert widget is not None
        blocks = list(widget.query(ToolCallBlock))
        assert [b.title for b in blocks] == [
            "Tool: browser_navigate · mcp/playwright · ok",
            "Tool: open_browser · failed",
        ]
        assert all(b.collapsed for b in blocks)
        widget.focus()
        await pilot.press("o")
        await pilot.pause()
        assert not any(b.collapsed for b in blocks)
        assert "output: Example Domain" in str(blocks[0].query_one(".tool-call-body").render())
        footer = str(widget.query_one(".meta").render())
        assert "2 tool call(s), 1 failed" in footer
        # Reopened from history, the reply shows the same blocks.
        assert app.session.conversation_id is not None
        app.session.load(app.session.conversation_id)
        await app.chat.show(app.session.entries)
        await pilot.pause()
        reopened = app.chat.widget_for(app.session.entries[-1])
        assert reopened is not None and reopened is not widget
        assert [b.title for b in reopened.query(ToolCallBlock)] == [b.title for b in blocks]
