"""The history browser's dialogs: rename a conversation, export one or all to a file.

Both are :class:`~lmtui.ui.dialog.Dialog` screens in the one dialog style; the
export dialog checks the file with the same policy as ``lmtui history export``
(:func:`lmtui.services.history_files.check_export_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, RadioButton, RadioSet, Static

from lmtui.backend.errors import LmtuiError
from lmtui.services.history_files import ExportFormat, check_export_path
from lmtui.services.terminal_text import make_inert
from lmtui.store.history import HistoryInputError
from lmtui.ui.dialog import Dialog

ResultType = TypeVar("ResultType")
HINT_STYLE = "dim"


def default_export_path(conversation_id: int | None, fmt: ExportFormat) -> str:
    """``~/lmtui-export-<id>.<fmt>`` (``all`` instead of an id for every conversation)."""
    name = "all" if conversation_id is None else str(conversation_id)
    return f"~/lmtui-export-{name}.{fmt}"


def swap_extension(path_text: str, fmt: ExportFormat) -> str:
    """``path_text`` with a ``.md``/``.json`` ending changed to ``fmt``'s; others unchanged."""
    for ext in (".md", ".json"):
        if path_text.endswith(ext):
            return path_text[: -len(ext)] + "." + fmt
    return path_text


def one_line_error(exc: LmtuiError) -> str:
    """An error and its remedy on one line (for a status line or a dialog)."""
    return f"{exc.message} {exc.remedy}".strip()


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What the export prompt asks for: a format and a checked, new file path."""

    fmt: ExportFormat
    path: Path


class HistoryPrompt(Dialog[ResultType]):
    """A small dialog over the history browser."""

    CSS_PATH = "history_prompts.tcss"


class RenamePrompt(HistoryPrompt[str | None]):
    """Ask for a new title; an empty answer means the automatic title."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="history.prompt.cancel"),
    ]

    def __init__(self, title: str, auto_title: str) -> None:
        super().__init__()
        self._title = title
        self._auto_title = auto_title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = "Rename"
            box.border_subtitle = "Enter save · Esc cancel"
            yield Input(
                value=make_inert(self._title),
                placeholder=make_inert(self._auto_title),
                id="rename-input",
                select_on_focus=True,
            )
            yield Static(
                Content.styled("Empty: " + make_inert(self._auto_title), HINT_STYLE),
                classes="prompt-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#rename-input", Input).focus()

    @on(Input.Submitted, "#rename-input")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or self._auto_title)

    def action_cancel(self) -> None:
        """Close without renaming."""
        self.dismiss(None)


class ExportPrompt(HistoryPrompt[ExportRequest | None]):
    """Ask for a format (Markdown or JSON) and a new file to write."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="history.prompt.cancel"),
    ]

    FORMATS: ClassVar[tuple[ExportFormat, ...]] = ("md", "json")

    def __init__(self, what: str, conversation_id: int | None) -> None:
        super().__init__()
        self._what = what
        self._conversation_id = conversation_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box") as box:
            box.border_title = f"Export {self._what}"
            box.border_subtitle = "Enter write · Tab format · Esc cancel"
            with Horizontal(id="export-format-row"):
                yield Static("Format:", classes="prompt-label")
                with RadioSet(id="export-format"):
                    yield RadioButton("Markdown", value=True, id="export-md")
                    yield RadioButton("JSON", id="export-json")
            yield Input(
                value=default_export_path(self._conversation_id, "md"),
                placeholder="File to write",
                id="export-path",
            )
            yield Static("", id="export-error", classes="prompt-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def fmt(self) -> ExportFormat:
        """The format chosen in the radio set."""
        index = self.query_one("#export-format", RadioSet).pressed_index
        return self.FORMATS[index if index >= 0 else 0]

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self) -> None:
        path = self.query_one("#export-path", Input)
        path.value = swap_extension(path.value, self.fmt)

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        # Typing a .json (or .md) name picks that format too.
        for index, fmt in enumerate(self.FORMATS):
            if event.value.endswith("." + fmt) and self.fmt != fmt:
                buttons = list(self.query(RadioButton))
                buttons[index].value = True

    @on(Input.Submitted, "#export-path")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            path = check_export_path(event.value)
        except HistoryInputError as exc:
            self.query_one("#export-error", Static).update(one_line_error(exc))
            return
        self.dismiss(ExportRequest(self.fmt, path))

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
