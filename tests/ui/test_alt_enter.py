"""Alt+Enter as terminals really send it: ESC CR (tmux, SSH), ESC LF, kitty's CSI 13;2u.

The bytes go through Textual's own terminal input parser, then to the app as the
driver would post them; the composer must keep both lines and send nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer

AppFactory = Callable[..., LmtuiApp]


def parse(data: str) -> list[events.Key]:
    """The key events Textual's input parser makes of ``data``."""
    parser = XTermParser()
    return [token for token in parser.feed(data) if isinstance(token, events.Key)]


@pytest.mark.parametrize(
    ("between", "key"),
    [("\x1b\r", "alt+enter"), ("\x1b\n", "alt+enter"), ("\x1b[13;2u", "shift+enter")],
)
async def test_newline_keys_keep_both_lines_and_send_nothing(
    fake: FakeServer, make_app: AppFactory, between: str, key: str
) -> None:
    app = make_app()  # installs the parser fix
    keys = parse(f"line one{between}line two")
    assert [k.key for k in keys].count(key) == 1
    assert "circumflex_accent" not in [k.key for k in keys]
    async with app.run_test(size=(80, 24)) as pilot:
        app.chat_screen.composer.focus()
        await pilot.pause()
        for event in keys:
            app.post_message(event)
        await pilot.pause()
        await pilot.pause()
        assert app.chat_screen.composer.text == "line one\nline two"
        chats: list[Any] = [r for r in fake.requests if r.path == "/v1/chat/completions"]
        assert chats == []
        assert not app.chat_screen.streaming


def test_other_escape_sequences_are_unchanged(make_app: AppFactory) -> None:
    make_app()
    assert [k.key for k in parse("\x1b[A\x1b[13u")] == ["up", "enter"]
