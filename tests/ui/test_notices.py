"""Notifications carrying server or model text go through the output layer, never as markup."""

from __future__ import annotations

from textual.app import App

from lmtui.backend.errors import LmtuiError
from lmtui.ui.notices import error_text, notify_error, notify_text

HOSTILE = "model \x1b]52;c;SGVsbG8=\x07 [bold]x[/bold] \x1b[2J"


async def test_text_is_made_inert_and_not_read_as_markup() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        notify_text(app, HOSTILE, title="from \x1b[31mserver")
        notify_error(app, LmtuiError("failed: \x1b[31m[red]", "try \x07again"))
        await pilot.pause()
        shown = list(app._notifications)
        assert len(shown) == 2
        for note in shown:
            assert "\x1b" not in note.message and "\x07" not in note.message
            assert "\x1b" not in note.title
            assert note.markup is False
        assert "[bold]x[/bold]" in shown[0].message  # shown as typed, not as style
        assert shown[1].message.endswith("try ␇again")
        assert shown[1].severity == "error"


def test_error_text_puts_the_remedy_on_its_own_line() -> None:
    assert error_text(LmtuiError("It broke.", "Do this.")) == "It broke.\nDo this."
    assert error_text(LmtuiError("It broke.")) == "It broke."
