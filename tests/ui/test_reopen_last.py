"""On start, the conversation open last time comes back with its draft (unless told not to)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.events import Ready
from textual.message import Message

from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


async def _leave_a_draft(fake: FakeServer, make_app: AppFactory) -> int:
    fake.enqueue(Reply(content="Sure, here is a plan."))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "Plan a wedding")
        await wait_idle(pilot)
        app.chat_screen.composer.insert("and a half-written follow-up")
        cid = app.chat_screen.session.conversation_id
        assert cid is not None
        await app.action_quit()  # saves the draft, as Ctrl+Q does
    return cid


async def test_the_last_conversation_reopens_with_its_draft(
    fake: FakeServer, make_app: AppFactory
) -> None:
    cid = await _leave_a_draft(fake, make_app)
    app = make_app()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.chat_screen.session.conversation_id == cid)
        assert [e.content for e in app.chat_screen.session.entries] == [
            "Plan a wedding",
            "Sure, here is a plan.",
        ]
        assert app.chat_screen.composer.text == "and a half-written follow-up"


@pytest.mark.parametrize("how", [{"start_new": True}, {"reopen_last": False}])
async def test_told_otherwise_it_starts_a_new_chat(
    fake: FakeServer, make_app: AppFactory, how: dict[str, bool]
) -> None:
    await _leave_a_draft(fake, make_app)
    app = make_app(**how)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert (
            app.chat_screen.session.conversation_id is None
            and app.chat_screen.session.entries == []
        )
        assert app.chat_screen.composer.text == ""


async def test_a_new_chat_is_remembered_as_new(fake: FakeServer, make_app: AppFactory) -> None:
    await _leave_a_draft(fake, make_app)
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await app.action_quit()
    again = make_app()
    async with again.run_test() as pilot:
        await pilot.pause()
        assert again.chat_screen.session.conversation_id is None


async def test_the_first_frame_comes_before_the_reopened_messages(
    fake: FakeServer, make_app: AppFactory
) -> None:
    # Issue 19, a lean start: drawing a long reopened reply used to hold the first frame
    # (and the model id in it) for seconds. The conversation, its draft and its model are
    # set before the frame; its messages are mounted right after it.
    cid = await _leave_a_draft(fake, make_app)
    fake.enqueue(Reply(content="Second answer."))
    app = make_app()
    at_first_frame: list[object] = []

    def first_frame(message: Message) -> None:
        if isinstance(message, Ready):  # sent when the first frame is drawn
            screen = app.chat_screen
            messages = screen.chat.message_widgets()
            at_first_frame.extend([screen.session.conversation_id, screen.composer.text, messages])

    async with app.run_test(message_hook=first_frame) as pilot:
        await wait_until(pilot, lambda: len(app.chat_screen.chat.message_widgets()) == 2)
        # A prompt sent now goes after the reopened messages, each shown once.
        app.chat_screen.composer.clear()
        await send(pilot, "And the flowers?")
        await wait_idle(pilot)
        shown = [w.entry.content for w in app.chat_screen.chat.message_widgets()]
        assert shown == [
            "Plan a wedding",
            "Sure, here is a plan.",
            "And the flowers?",
            "Second answer.",
        ]
    assert at_first_frame[:2] == [cid, "and a half-written follow-up"]
    assert at_first_frame[2] == []  # the messages were not mounted yet
