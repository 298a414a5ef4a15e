"""Notifications: the one way the UI tells the user something in a toast.

Text in a notification may come from a server or a model (an error message, a
model id); it goes through the output layer (``make_inert``) and is never read as
markup, so it cannot move the cursor, retitle the terminal or style itself.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from lmtui.backend.errors import LmtuiError
from lmtui.services.terminal_text import make_inert


def notify_text(
    app: App[Any],
    text: str,
    *,
    severity: SeverityLevel = "information",
    title: str = "",
    timeout: float | None = None,
) -> None:
    """Show ``text`` (which may hold server or model text) in a toast, made inert."""
    app.notify(
        make_inert(text), title=make_inert(title), severity=severity, timeout=timeout, markup=False
    )


def error_text(exc: LmtuiError) -> str:
    """An error's message and, on the next line, its remedy (when it has one)."""
    return f"{exc.message}\n{exc.remedy}" if exc.remedy else exc.message


def notify_error(
    app: App[Any],
    exc: LmtuiError,
    *,
    severity: SeverityLevel = "error",
    title: str = "",
    timeout: float | None = None,
) -> None:
    """Show an ``LmtuiError`` with its remedy, made inert."""
    notify_text(app, error_text(exc), severity=severity, title=title, timeout=timeout)
