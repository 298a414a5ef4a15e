"""The help screen and the binding rows it lists."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console
from rich.table import Table
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input, Static

from lmtui.ui.help import HelpScreen, binding_rows


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


class ChatPane(Widget, can_focus=True):
    """A stand-in for an app widget with its own keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_reply", "Copy reply", id="chat.copy"),
        Binding("e", "edit", "Edit prompt", show=False, id="chat.edit"),
    ]


class HelpHost(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_chat", "New chat", id="app.new_chat"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+e", "external_editor", "Edit in $EDITOR", show=False, id="app.editor"),
        Binding("ctrl+g", "secret", show=False),  # no description: not for the help
        Binding("ctrl+y", "retired", "Retired feature", id="app.retired"),
    ]

    def compose(self) -> ComposeResult:
        yield ChatPane()
        yield Input(id="prompt")  # Textual's own widget: its editing keys stay out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "retired"

    def action_help(self) -> None:
        self.push_screen(HelpScreen(binding_rows(self)))


def rendered_text(widget: Static) -> str:
    """What a help group prints, as plain text."""
    table = widget.content
    assert isinstance(table, Table)
    console = Console(file=io.StringIO(), width=70, record=True)
    console.print(table)
    return console.export_text()


async def test_rows_cover_app_screen_and_widgets_with_keymap_remaps() -> None:
    app = HelpHost()
    async with app.run_test(size=(80, 24)):
        app.set_keymap({"app.new_chat": "ctrl+t", "chat.copy": "y,ctrl+k"})
        rows = binding_rows(app)
        by_description = {description: (key, group) for key, description, group in rows}

        assert by_description["New chat"] == ("^t", "General")
        assert by_description["Edit in $EDITOR"] == ("^e", "General")  # hidden but described
        assert by_description["Help"] == ("f1", "General")
        assert by_description["Copy reply"] == ("y ^k", "Chat pane")
        assert by_description["Edit prompt"] == ("e", "Chat pane")
        assert by_description["Focus Next"] == ("tab", "Screen")
        assert "Retired feature" not in by_description  # check_action said False
        assert all(key != "^g" for key, _, _ in rows)  # undescribed
        assert all(group != "Input" for _, _, group in rows)
        # The remap moves no row: the help keeps the declared order.
        general = [d for _, d, g in rows if g == "General"]
        assert general.index("New chat") < general.index("Help")


async def test_help_screen_lists_groups_and_closes_with_each_key() -> None:
    app = HelpHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_keymap({"app.new_chat": "ctrl+t"})
        for close_key in ("escape", "f1", "q"):
            await pilot.press("f1")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, HelpScreen)
            groups = [group for group, _ in screen.grouped()]
            assert groups == ["General", "Screen", "Chat pane"]
            tables = list(screen.query(".help-group").results(Static))
            assert len(tables) == 3
            general = rendered_text(tables[0])
            assert "^t" in general and "New chat" in general and "^n" not in general
            # Rows opened from inside the help describe the screen below it.
            assert binding_rows(app) == screen.rows
            await pilot.press(close_key)
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen), close_key


async def test_help_screen_scrolls_a_long_list() -> None:
    rows = [(f"f{i}", f"Action number {i}", "Many") for i in range(60)]
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HelpScreen(rows))
        await pilot.pause()
        body = app.screen.query_one("#help-body")
        assert app.focused is body
        assert body.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y


async def test_help_screen_without_rows_says_so() -> None:
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HelpScreen([]))
        await pilot.pause()
        assert app.screen.query_one("#help-empty", Static).content == "No keys to show."
