"""Model output never drives the terminal: escapes are shown inert, in the app and in ``ask``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lmtui.ui.app import LmtuiApp
from lmtui.ui.markdown_body import MarkdownBody
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import run_in_pty
from tests.ui.conftest import send, wait_idle

AppFactory = Callable[..., LmtuiApp]
MODEL = "qwen2.5-7b-instruct"

TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"
CLEAR = "\x1b[2J\x1b[H"
BIDI = "\u202eevil\u202c \u2066iso\u2069"
HOSTILE = f"start {TITLE} title {CLIPBOARD} clip {CLEAR} clear {BIDI} end\n"
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069", "\x9b")


async def test_escapes_bidi_and_a_one_megabyte_line_are_inert_in_the_app(
    fake: FakeServer, make_app: AppFactory, tmp_path: Path
) -> None:
    huge_line = ("x" * 999 + CLEAR) * 1000  # about 1 MB, no newline, escapes inside
    fake.enqueue(Reply(deltas=[HOSTILE[i : i + 3] for i in range(0, len(HOSTILE), 3)]))
    fake.enqueue(Reply(deltas=[huge_line[i : i + 4096] for i in range(0, len(huge_line), 4096)]))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "be hostile")
        await wait_idle(pilot)
        await send(pilot, "one long line")
        await wait_idle(pilot)
        first, second = app.chat_screen.session.entries[1], app.chat_screen.session.entries[3]
        assert first.content == HOSTILE  # kept as sent: history and copy get the real text
        assert second.content == huge_line
        for entry in (first, second):
            widget = app.chat_screen.chat.widget_for(entry)
            assert widget is not None
            drawn = widget.query_one(".body", MarkdownBody).plain_text()
            assert not any(c in drawn for c in RAW_CONTROLS)
            assert "␛" in drawn
        shown = app.chat_screen.chat.widget_for(first)
        assert shown is not None
        assert "␛]52;c;ZXZpbA==␇" in shown.query_one(".body", MarkdownBody).plain_text()
        screen = app.export_screenshot()
        assert not any(c in screen for c in RAW_CONTROLS)
        await pilot.press(*"still typing")
        assert app.chat_screen.composer.text == "still typing"


def test_ask_on_a_terminal_makes_controls_inert(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(deltas=[HOSTILE[i : i + 2] for i in range(0, len(HOSTILE), 2)]))
    code, shown, err = run_in_pty("--base-url", fake_server.base_url, "-m", MODEL, "ask", "x")
    assert code == 0, err
    text = shown.decode("utf-8")
    assert not any(c in text for c in RAW_CONTROLS)
    # Each control byte has a visible stand-in; the terminal turns "\n" into "\r\n".
    assert "␛]0;pwned␇ title ␛]52;c;ZXZpbA==␇ clip ␛[2J␛[H clear" in text
    assert "<U+202E>evil<U+202C> <U+2066>iso<U+2069> end" in text


def test_ask_raw_on_a_terminal_passes_the_bytes(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(text=HOSTILE))
    code, shown, err = run_in_pty(
        "--base-url", fake_server.base_url, "-m", MODEL, "ask", "--raw", "x"
    )
    assert code == 0, err
    assert shown.decode("utf-8") == HOSTILE.replace("\n", "\r\n")


def test_ask_into_a_pipe_or_file_passes_the_text_unchanged(
    fake_server: FakeServer, run_lmtui: RunLmtui
) -> None:
    fake_server.enqueue(Reply(text=HOSTILE))
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "x")
    assert done.returncode == 0, done.stderr
    assert done.stdout == HOSTILE
