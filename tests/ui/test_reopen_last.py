"""On start, the conversation open last time comes back with its draft (unless told not to)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
