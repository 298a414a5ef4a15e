"""The composer's own keys: select all, clear, and Esc leaving an edit with the draft back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lmtui.ui.app import LmtuiApp
from lmtui.ui.message import MessageWidget
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle

AppFactory = Callable[..., LmtuiApp]


async def test_ctrl_a_selects_all_and_ctrl_l_clears_undoably(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.chat_screen.composer.focus()
        app.chat_screen.composer.set_text("first line\nsecond line")
        await pilot.press("ctrl+a")
        assert app.chat_screen.composer.selected_text == "first line\nsecond line"
        await pilot.press("ctrl+l")
        assert app.chat_screen.composer.text == ""
        await pilot.press("ctrl+z")
        assert app.chat_screen.composer.text == "first line\nsecond line"


@pytest.mark.parametrize("save_history", [True, False])
async def test_escape_leaves_an_edit_and_brings_the_draft_back(
    fake: FakeServer, make_app: AppFactory, save_history: bool
) -> None:
    fake.enqueue(Reply(content="about cats"))
    app = make_app(save_history=save_history)
    async with app.run_test() as pilot:
        await send(pilot, "tell me about cats")
        await wait_idle(pilot)
        app.chat_screen.composer.set_text("my half-written draft")
        await pilot.press("ctrl+up", "up")
        assert isinstance(app.focused, MessageWidget) and app.focused.entry.role == "user"
        await pilot.press("e")
        assert app.chat_screen.composer.text == "tell me about cats"
        app.chat_screen.composer.insert(" and dogs")
        app.chat_screen.composer._draft_due()  # the pause in typing that would save a draft
        await pilot.pause()
        if app.history is not None:  # the edited prompt never became the saved draft
            assert app.history.load_draft(app.chat_screen._draft_key) == "my half-written draft"
        await pilot.press("escape")
        assert app.chat_screen.composer.editing_index is None
        assert app.chat_screen.composer.text == "my half-written draft"
        assert [e.content for e in app.chat_screen.session.entries] == [
            "tell me about cats",
            "about cats",
        ]
