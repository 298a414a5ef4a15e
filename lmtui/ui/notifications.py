"""Notifications through the output layer: the app's one way to show a toast.

Every ``notify`` in the app (``self.notify`` on a screen or a widget reaches
``App.notify``) passes here, so a server's error message, a model id or a title from
history never reaches the terminal as a control sequence: ``ESC ]0;`` cannot retitle
the window, ``ESC ]52;`` cannot write the clipboard. The text is made inert
(``make_inert``) before Textual reads any markup in it.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from lmtui.services.terminal_text import make_inert


class InertNotifications(App[Any]):
    """Mixin for the app: ``notify`` makes its message and title inert first."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification whose text holds no terminal control character."""
        super().notify(
            make_inert(str(message)),
            title=make_inert(str(title)),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )
