"""The workbench menu (F8): a small list of the workbench tools; Enter opens one.

The screen's result is the chosen tool's id (a key of
:func:`lmtui.ui.workbench.workbench_screens`), or None when closed with Esc.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lmtui.ui.dialog import Dialog

WORKBENCH_PREFIX = "Workbench: "


class WorkbenchMenu(Dialog[str | None]):
    """Pick a workbench tool."""

    DEFAULT_CSS = """
    WorkbenchMenu #workbench-box {
        width: 56;
    }
    WorkbenchMenu #workbench-list {
        height: auto;
        border: none;
    }
    WorkbenchMenu #workbench-hint {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", show=False, id="workbench.menu.close"),
    ]

    def __init__(self, tools: Sequence[tuple[str, str]]) -> None:
        """``tools`` are ``(id, title)`` pairs, in the order shown."""
        super().__init__()
        self._tools = list(tools)

    def compose(self) -> ComposeResult:
        with Vertical(id="workbench-box", classes="dialog-box") as box:
            box.border_title = "Workbench"
            yield OptionList(
                *(
                    Option(title.removeprefix(WORKBENCH_PREFIX).capitalize(), id=tool)
                    for tool, title in self._tools
                ),
                id="workbench-list",
            )
            yield Static("Enter opens · Esc closes", id="workbench-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one("#workbench-list", OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#workbench-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without opening a tool."""
        self.dismiss(None)
