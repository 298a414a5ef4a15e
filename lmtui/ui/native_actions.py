"""Chat actions for what LM Studio's native chat adds: the reasoning setting, tool calls.

:class:`NativeActions` is mixed into the chat app (bound in :mod:`lmtui.ui.keymap`, so
the footer, F1 help and the command palette list them).
"""

from __future__ import annotations

from typing import cast

from lmtui.backend.native_chat import Reasoning
from lmtui.backend.types import Model
from lmtui.services.native_route import check_reasoning
from lmtui.ui.chat_actions import ChatActions
from lmtui.ui.reasoning_picker import DEFAULT, ReasoningPicker


class NativeActions(ChatActions):
    """The reasoning selector and the tool-call toggle."""

    def current_model_info(self) -> Model | None:
        """The chat's model as the server lists it (None when not listed)."""
        from lmtui.ui.sidebar import ModelSidebar

        sidebars = self.query(ModelSidebar)
        if not sidebars or not self.session.model:
            return None
        return next((m for m in sidebars.first().models if m.id == self.session.model), None)

    def action_choose_reasoning(self) -> None:
        """Pick off / low / medium / high / on, as the model allows, for this chat."""
        model = self.current_model_info()
        self.push_screen(ReasoningPicker(model, self.session.reasoning), self._reasoning_chosen)

    def _reasoning_chosen(self, choice: str | None) -> None:
        if choice is None:
            return
        if choice == DEFAULT:
            self.session.reasoning = None
            self.notify("Reasoning: the model's default.")
            return
        problem = check_reasoning(self.current_model_info(), choice)
        if problem is not None:
            self.notify(problem, severity="warning", markup=False)
            return
        self.session.reasoning = cast(Reasoning, choice)
        self.notify(f"Reasoning: {choice} (from the next message).", markup=False)

    def action_toggle_tool_calls(self) -> None:
        """Open or close the tool-call blocks of the focused (or last) reply."""
        widget = self._target("assistant")
        if widget is None or not widget.toggle_tool_calls():
            self.notify("That reply made no tool calls.")
