"""Renaming and exporting the conversation on screen, from the chat itself (keys and palette).

The history browser's own prompts are reused, so the two places behave alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmtui.backend.errors import LmtuiError
from lmtui.services.history_files import export_to_file
from lmtui.store.history import make_title
from lmtui.ui.history_browser import ExportPrompt, ExportRequest, RenamePrompt

if TYPE_CHECKING:
    from lmtui.ui.app import LmtuiApp

NOT_SAVED = "This chat is not saved yet (send a prompt first), or history is off."


def _saved_conversation(app: LmtuiApp) -> int | None:
    cid = app.session.conversation_id
    if cid is None or app.history is None:
        app.notify(NOT_SAVED, severity="warning", markup=False)
        return None
    return cid


def rename_current(app: LmtuiApp) -> None:
    """Ask for a new title for the conversation on screen (empty: the automatic one)."""
    cid = _saved_conversation(app)
    history = app.history
    if cid is None or history is None:
        return
    first = next((e.content for e in app.session.entries if e.role == "user"), "")
    current = app.session.title or make_title(first)

    def renamed(title: str | None) -> None:
        if title is None:
            return
        try:
            history.rename(cid, title)
        except LmtuiError as exc:
            app.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        app.session.title = title
        app.notify(f"Renamed to “{title}”.", title="History", markup=False)

    app.push_screen(RenamePrompt(current, make_title(first)), renamed)


def export_current(app: LmtuiApp) -> None:
    """Ask for a format and a new file, then write the conversation on screen to it."""
    cid = _saved_conversation(app)
    history = app.history
    if cid is None or history is None:
        return

    def chosen(request: ExportRequest | None) -> None:
        if request is None:
            return
        try:
            export_to_file(history, [cid], request.fmt, request.path)
        except LmtuiError as exc:
            app.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        app.notify(f"Exported to {request.path}.", title="History", markup=False)

    app.push_screen(ExportPrompt("this conversation", cid), chosen)
