"""A modal list of themes with type-to-filter and live preview.

Highlighting a theme applies it at once; Enter keeps it and remembers it in
``config.toml``; Esc puts back the theme that was active when the picker opened.
The screen's result is the chosen theme's name, or None when cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from lmtui.backend.errors import LmtuiError
from lmtui.ui.dialog import Dialog
from lmtui.ui.notices import notify_error, notify_text
from lmtui.ui.themes import save_theme_choice


def theme_order(names: Iterable[str]) -> list[str]:
    """lmtui's own themes first, then the rest, each group alphabetical."""
    return sorted(set(names), key=lambda name: (not name.startswith("lmtui-"), name))


def matches(name: str, query: str) -> bool:
    """True when every word of ``query`` occurs in ``name`` (case-insensitive)."""
    lowered = name.lower()
    return all(word in lowered for word in query.lower().split())


class ThemePicker(Dialog[str | None]):
    """Choose a theme, previewing each one as it is highlighted."""

    DEFAULT_CSS = """
    ThemePicker {
        background: transparent;  /* the theme being previewed stays in full view */
    }
    ThemePicker #theme-box {
        width: 48;
    }
    ThemePicker #theme-filter {
        margin-bottom: 1;
    }
    ThemePicker #theme-list {
        height: auto;
        max-height: 16;
    }
    ThemePicker #theme-hint {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False, id="theme.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="theme.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="theme.previous"),
        Binding("pagedown", "move(8)", "Page down", show=False, id="theme.page_down"),
        Binding("pageup", "move(-8)", "Page up", show=False, id="theme.page_up"),
    ]

    def __init__(self, themes: Iterable[str] | None = None, config_file: Path | None = None):
        """``themes`` defaults to every theme the app knows; ``config_file`` to the usual one."""
        super().__init__()
        self._names = list(themes) if themes is not None else None
        self._config_file = config_file
        self._original = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="theme-box", classes="dialog-box") as box:
            box.border_title = "Theme"
            yield Input(placeholder="Type to filter…", id="theme-filter")
            yield OptionList(id="theme-list")
            yield Static("↑↓ preview · Enter keep · Esc cancel", id="theme-hint", markup=False)

    def on_mount(self) -> None:
        self._original = self.app.theme
        if self._names is None:
            self._names = list(self.app.available_themes)
        self._fill("")
        self.query_one("#theme-filter", Input).focus()

    @property
    def option_list(self) -> OptionList:
        """The list of theme names."""
        return self.query_one("#theme-list", OptionList)

    def _fill(self, query: str) -> None:
        shown = [name for name in theme_order(self._names or []) if matches(name, query)]
        options = self.option_list
        options.set_options(
            Option(f"{name}  (current)" if name == self._original else name, id=name)
            for name in shown
        )
        if not shown:
            return
        # Keep the theme on screen highlighted while it still matches the filter.
        keep = self.app.theme if self.app.theme in shown else shown[0]
        options.highlighted = shown.index(keep)

    @on(Input.Changed, "#theme-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(OptionList.OptionHighlighted, "#theme-list")
    def _preview(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.app.theme:
            self.app.theme = event.option.id

    def action_move(self, step: int) -> None:
        """Move the highlight (and so the preview) by ``step`` rows, clamped to the list."""
        options = self.option_list
        if options.option_count == 0:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    @on(Input.Submitted, "#theme-filter")
    @on(OptionList.OptionSelected, "#theme-list")
    def _choose(self) -> None:
        option = self.option_list.highlighted_option
        if option is None or option.id is None:
            return
        name = option.id
        self.app.theme = name
        try:
            save_theme_choice(name, self._config_file)
        except LmtuiError as exc:
            notify_error(self.app, exc, title="Theme not saved")
        except OSError as exc:
            notify_text(
                self.app,
                f"Cannot write the config file: {exc.strerror or exc}.",
                title="Theme not saved",
                severity="error",
            )
        self.dismiss(name)

    def action_cancel(self) -> None:
        """Put back the theme that was active when the picker opened."""
        if self._original:
            self.app.theme = self._original
        self.dismiss(None)
