"""Renaming and exporting the conversation on screen, from the chat itself (keys and palette).

The history browser's own prompts are reused, so the two places behave alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmtui.backend.errors import LmtuiError
from lmtui.services.history_files import export_to_file
from lmtui.services.history_ops import rename_conversation
from lmtui.services.terminal_text import make_inert
from lmtui.store.history import make_title
from lmtui.ui.history_prompts import ExportPrompt, ExportRequest, RenamePrompt
from lmtui.ui.history_writes import queue_change
from lmtui.ui.notices import notify_error, notify_text

if TYPE_CHECKING:
    from lmtui.ui.chat_screen_base import ChatScreenBase

NOT_SAVED = "This chat is not saved yet (send a prompt first), or history is off."


def _saved_conversation(screen: ChatScreenBase) -> int | None:
    cid = screen.session.conversation_id
    if cid is None or screen.session.history is None:
        notify_text(screen.app, NOT_SAVED, severity="warning")
        return None
    return cid


def rename_current(screen: ChatScreenBase) -> None:
    """Ask for a new title for the conversation on screen (empty: the automatic one)."""
    cid = _saved_conversation(screen)
    history = screen.session.history
    if cid is None or history is None:
        return
    first = next((e.content for e in screen.session.entries if e.role == "user"), "")
    current = screen.session.title or make_title(first)

    def renamed(title: str | None) -> None:
        if title is None:
            return

        def done(_: str) -> None:
            screen.session.title = title
            notify_text(screen.app, f"Renamed to “{make_inert(title)}”.", title="History")

        queue_change(
            screen.app,
            history,
            "rename",
            lambda s: rename_conversation(s, cid, title),
            done=done,
            failed=lambda exc: notify_error(screen.app, exc),
        )

    screen.app.push_screen(RenamePrompt(current, make_title(first)), renamed)


def export_current(screen: ChatScreenBase) -> None:
    """Ask for a format and a new file, then write the conversation on screen to it."""
    cid = _saved_conversation(screen)
    history = screen.session.history
    if cid is None or history is None:
        return

    def chosen(request: ExportRequest | None) -> None:
        if request is None:
            return
        try:
            export_to_file(history, [cid], request.fmt, request.path)
        except LmtuiError as exc:
            notify_error(screen.app, exc)
            return
        notify_text(screen.app, f"Exported to {request.path}.", title="History")

    screen.app.push_screen(ExportPrompt("this conversation", cid), chosen)
