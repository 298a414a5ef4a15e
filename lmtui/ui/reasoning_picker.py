"""Choose the reasoning setting for this chat: only what the model allows.

LM Studio 0.4 lists each model's ``capabilities.reasoning.allowed_options`` and its
default; the picker offers those (and "the model's default"). A model that lists none
gets an explanation instead of choices. The result is the choice (``"default"`` for the
model's own), or None when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lmtui.backend.types import Model
from lmtui.services.native_route import reasoning_choices
from lmtui.services.terminal_text import make_inert

DEFAULT = "default"
EXPLAIN = {
    "off": "no reasoning",
    "low": "brief reasoning",
    "medium": "some reasoning",
    "high": "thorough reasoning",
    "on": "reasoning on",
}


def picker_options(model: Model | None, current: str | None) -> list[tuple[str, str]]:
    """(id, label) for each choice the model allows, the model's default first."""
    choices = reasoning_choices(model)
    if not choices:
        return []
    default = model.reasoning_default if model is not None else None
    mark = " ✓" if current is None else ""
    out = [(DEFAULT, f"model default ({default or 'its own'}){mark}")]
    for choice in choices:
        tick = " ✓" if choice == current else ""
        out.append((choice, f"{choice} — {EXPLAIN[choice]}{tick}"))
    return out


def no_choice_reason(model: Model | None) -> str:
    """Why there is nothing to choose."""
    if model is None:
        return "No model chosen: pick one in the sidebar (F2) first."
    return (
        f"{make_inert(model.label)} offers no reasoning setting (LM Studio 0.4 lists one for "
        "models that reason; other servers do not say)."
    )


class ReasoningPicker(ModalScreen[str | None]):
    """A small list of the reasoning settings the model allows."""

    DEFAULT_CSS = """
    ReasoningPicker { align: center middle; }
    ReasoningPicker > #reasoning-box {
        width: 52; max-width: 100%; height: auto;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ReasoningPicker #reasoning-list { height: auto; max-height: 10; }
    ReasoningPicker #reasoning-hint { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, model: Model | None, current: str | None) -> None:
        super().__init__()
        self.model = model
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="reasoning-box") as box:
            box.border_title = "Reasoning"
            options = picker_options(self.model, self.current)
            if options:
                yield OptionList(
                    *(Option(label, id=ident) for ident, label in options), id="reasoning-list"
                )
                yield Static("Enter choose · Esc cancel", id="reasoning-hint", markup=False)
            else:
                yield Static(Content(no_choice_reason(self.model)), id="reasoning-none")
                yield Static("Esc closes", id="reasoning-hint", markup=False)

    def on_mount(self) -> None:
        lists = self.query(OptionList)
        if lists:
            lists.first().focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
