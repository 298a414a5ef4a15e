"""Keys that arrive in one burst keep their order.

Over SSH, from tmux send-keys, or in a terminal without bracketed paste, a whole
line and its Enter reach the app in one read. The composer must send exactly what
was typed before Enter, and put a Ctrl+J newline where it was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events

from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import wait_until


def burst(app: LmtuiApp, keys: list[tuple[str, str | None]]) -> None:
    """Queue key events on the app all at once, as a terminal read would."""
    for key, char in keys:
        app.post_message(events.Key(key, char))


def typed(text: str) -> list[tuple[str, str | None]]:
    return [(ch if ch != " " else "space", ch) for ch in text]


async def test_enter_after_a_burst_sends_the_whole_line(
    fake: FakeServer, make_app: Callable[..., LmtuiApp]
) -> None:
    fake.enqueue(Reply(content="ok"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.chat_screen.composer.focus()
        await pilot.pause()
        burst(app, [*typed("hello there"), ("ctrl+j", None), *typed("two"), ("enter", "\r")])

        def chats() -> list[Any]:
            return [r for r in fake.requests if r.path == "/v1/chat/completions"]

        await wait_until(pilot, lambda: bool(chats()) and not app.chat_screen.streaming)
        sent: Any = chats()[-1].json_body
        assert sent["messages"][-1] == {"role": "user", "content": "hello there\ntwo"}
        assert app.chat_screen.composer.text == ""
