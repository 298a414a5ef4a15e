"""A multi-line text box that takes a new line the way the composer does.

Every text area where a user writes (workbench prompts, the embeddings list, system
prompts in the parameter panel and the preset editor) inserts a line break on the
composer's newline keys (Ctrl+J, Alt+Enter, Shift+Enter) as well as on Enter, so a
habit learned in the chat never silently joins lines elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.widgets import TextArea

from lmtui.ui.keymap import COMPOSER_ACTIONS


class TextBox(TextArea):
    """A ``TextArea`` whose newline keys are the composer's."""

    # The composer's own newline binding (same id, so a [keys] remap applies here too).
    BINDINGS: ClassVar[list[BindingType]] = [
        a.binding() for a in COMPOSER_ACTIONS if a.id == "newline"
    ]

    def action_newline(self) -> None:
        """Insert a line break at the cursor."""
        self.insert("\n")
