"""Snapshots of the main screen, the no-model state and the unreachable state.

The fake server's port changes every run, so the app shows a fixed server label;
the cursor does not blink and no clock is shown, so the pictures are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]

REPLY = (
    "Here is a list:\n\n- first\n- second\n\n```python\ndef hello() -> str:\n"
    "    return 'hi'\n```\n\nDone."
)


async def _converse(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, LmtuiApp)
    await pilot.pause()  # the chat screen composes after the app is ready
    app.chat_screen.composer.cursor_blink = False
    await wait_until(pilot, lambda: app.chat_screen.status.server_ok is not None)
    await send(pilot, "Show me a list and some code")
    await wait_idle(pilot)
    # Timings vary run to run: pin the one footer that shows them.
    for widget in app.chat_screen.chat.message_widgets():
        if widget.entry.role == "assistant":
            widget.entry.client_timings = None
            widget.entry.server_timings = None
            widget.refresh_state()
    app.chat_screen.status.set(speed="")
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_main_screen(
    snap_compare: Any, fake: FakeServer, make_app: AppFactory, size: tuple[int, int]
) -> None:
    fake.enqueue(Reply(content=REPLY))
    assert snap_compare(make_app(), terminal_size=size, run_before=_converse)


def test_no_model_loaded(snap_compare: Any, fake: FakeServer, make_app: AppFactory) -> None:
    for model in fake.models:
        model.loaded = False
        model.loaded_context_length = None

    async def settle(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, LmtuiApp)
        await pilot.pause()  # the chat screen composes after the app is ready
        app.chat_screen.composer.cursor_blink = False
        await wait_until(pilot, lambda: app.chat_screen.status.server_ok is not None)
        await pilot.pause()

    assert snap_compare(make_app(model=None), terminal_size=(120, 40), run_before=settle)


def test_unreachable_server(snap_compare: Any) -> None:
    app = LmtuiApp(Config(base_url="http://127.0.0.1:9", model="m"), server_label="unreachable")

    async def settle(pilot: Pilot[Any]) -> None:
        assert isinstance(pilot.app, LmtuiApp)
        await pilot.pause()  # the chat screen composes after the app is ready
        pilot.app.chat_screen.composer.cursor_blink = False
        await wait_until(pilot, lambda: pilot.app.chat_screen.status.server_ok is False)  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)
