"""The app's history writer: a worker thread whose problems show as notices.

Writes to stored messages (a streaming reply's saves, edits, deletes) go through one
:class:`~lmtui.store.write_worker.WriteWorker`, so a locked or slow database never
blocks keys or rendering. The app shows a failing write (it is retried) as a warning
notice and on the status line, and says when writes go through again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from textual.app import App

from lmtui.store.history import HistoryStore
from lmtui.store.write_worker import WriteWorker

__all__ = ["start_history_writes"]

# How long quitting waits for queued history writes before leaving them.
EXIT_WAIT = 5.0


def start_history_writes(
    app: App[Any], history: object, show: Callable[[str, bool], None]
) -> WriteWorker | None:
    """A worker writing to ``history``'s database on its own connection; call on the loop.

    ``show(text, failing)`` runs on the loop when writes start failing (``failing``
    True: they are retried) and when they go through again. Returns None when
    ``history`` is not a :class:`HistoryStore` (writes stay inline).
    """
    if not isinstance(history, HistoryStore):
        return None
    loop = asyncio.get_running_loop()
    path, busy = history.path, history.busy_timeout

    def notice(text: str, failing: bool) -> None:
        def on_loop() -> None:
            if app.is_running:
                show(text, failing)

        with contextlib.suppress(RuntimeError):  # the loop is gone: the app has ended
            loop.call_soon_threadsafe(on_loop)

    return WriteWorker(
        lambda: HistoryStore(path, busy_timeout=busy),
        on_problem=lambda text: notice(text, True),
        on_recovered=lambda text: notice(text, False),
    )
