"""The dialog that must be accepted before a tool's bound command runs.

It shows the exact argv, one argument per line (each quoted as a shell would need
it, so spaces and odd characters are visible), and returns True only for an
explicit "y" (or the Run button). Esc, "n" or anything else returns False.
"""

from __future__ import annotations

import shlex
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from lmtui.services.terminal_text import make_inert


def argv_lines(argv: tuple[str, ...]) -> str:
    """The argv as shown: one argument per line, numbered, quoted, made inert."""
    return "\n".join(f"{i:>2}  {make_inert(shlex.quote(a))}" for i, a in enumerate(argv))


class ConfirmCommand(ModalScreen[bool]):
    """Run this command? Only "y" or the Run button say yes."""

    DEFAULT_CSS = """
    ConfirmCommand { align: center middle; }
    ConfirmCommand > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmCommand .cc-argv { height: auto; max-height: 16; margin: 1 0; }
    ConfirmCommand Horizontal { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Run it", show=True),
        Binding("n", "answer(False)", "Don't run", show=True),
        Binding("escape", "answer(False)", "Cancel", show=True),
    ]

    def __init__(self, tool: str, argv: tuple[str, ...]) -> None:
        super().__init__()
        self.tool = tool
        self.argv = argv

    def compose(self) -> ComposeResult:
        """The question, the argv, and the two buttons."""
        with Vertical():
            yield Static(
                make_inert(f"The model asks to run tool '{self.tool}'. Run this command?"),
                markup=False,
            )
            yield Static(argv_lines(self.argv), markup=False, classes="cc-argv", id="argv")
            yield Static("y: run it · n or Esc: don't run", markup=False)
            with Horizontal():
                yield Button("Don't run", id="no", variant="primary")
                yield Button("Run", id="yes", variant="warning")

    def on_mount(self) -> None:
        """Focus "Don't run": Enter alone never runs a command."""
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Run only for the Run button."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, run: bool) -> None:
        """Close with the answer."""
        self.dismiss(run)
