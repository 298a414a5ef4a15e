"""The one dialog style: a box centred over a dimmed screen, titled on its border.

Subclass :class:`Dialog` and put the content in a container with the
``dialog-box`` class; set ``border_title`` (what it is) and ``border_subtitle``
(its keys). Width and height fit most dialogs; a dialog that needs another width
sets it on its own box (``#my-box { width: 100; }``) in its own style.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog in lmtui's one dialog style."""

    # Short and shared by every dialog, so inline here (see "CSS" in docs/architecture.md).
    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        background: $background 60%;
    }
    Dialog .dialog-box {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    """
