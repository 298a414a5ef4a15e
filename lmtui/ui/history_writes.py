"""The app's history writer: a worker thread whose problems show as notices.

Every history write of the TUI goes through one
:class:`~lmtui.store.write_worker.WriteWorker`, so a locked or slow database never
blocks keys or rendering: the chat session's (new conversations, prompts, a streaming
reply's row and saves, edits, deletes) and, through :func:`queue_change`, the screens'
(drafts, the history browser's rename, delete and undo). The app shows a failing write
(it is retried) as a warning notice and on the status line, and says when writes go
through again. ``tests/test_layers.py`` keeps UI modules from writing any other way.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from textual.app import App

from lmtui.backend.errors import LmtuiError
from lmtui.store.history import HistoryStore, HistoryUnavailable
from lmtui.store.write_worker import WriteWorker

__all__ = [
    "app_history",
    "queue_change",
    "start_history_writes",
    "unsaved_note",
    "writer_for",
]

_R = TypeVar("_R")

# How long quitting waits for queued history writes before leaving them.
EXIT_WAIT = 5.0
# The worker's wait for a lock per try: it retries anyway, so a lock is said within a second.
WORKER_BUSY_TIMEOUT = 1.0


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

    worker = WriteWorker(
        lambda: HistoryStore(path, busy_timeout=min(busy, WORKER_BUSY_TIMEOUT)),
        on_problem=lambda text: notice(text, True),
        on_recovered=lambda text: notice(text, False),
    )
    # Opening the worker's store marks replies whose writer died as interrupted (the
    # app's own store skipped that write): open it now, retried while locked.
    worker.submit("recover interrupted replies", lambda s: None)
    return worker


def unsaved_note(left: int, problem: str | None, rescued: str | None = None) -> str | None:
    """The line said after quitting with ``left`` history writes unsaved; None when none.

    ``rescued`` says where the open conversation was kept instead (see
    :mod:`lmtui.services.history_rescue`), or why it could not be.
    """
    if left <= 0:
        return None
    writes = "write" if left == 1 else "writes"
    why = f" ({problem.split(' — retrying')[0]})" if problem else ""
    note = (
        f"{left} history {writes} could not be saved before quitting{why}; a reply saved "
        "in part shows as interrupted next time."
    )
    return f"{note} {rescued[0].upper()}{rescued[1:]}." if rescued else note


def writer_for(app: App[Any], store: object) -> WriteWorker | None:
    """The app's history writer when it writes ``store``'s database, else None.

    None when history is off, the app is ending (the writer is closed), or ``store``
    is not the app's own (a test's, a tool's): those write inline.
    """
    worker = getattr(app, "history_writer", None)
    if not isinstance(worker, WriteWorker) or worker.closed:
        return None
    return worker if store is not None and store is app_history(app) else None


def app_history(app: App[Any]) -> HistoryStore | None:
    """The app's history store, for a screen that was given none; None when history is off."""
    history = getattr(app, "history", None)
    return history if isinstance(history, HistoryStore) else None


def _on_loop(
    app: App[Any],
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    fn: Callable[[_R], None],
    value: _R,
) -> None:
    """Call ``fn(value)`` on ``loop`` from the worker thread, unless the app has ended.

    ``context`` is the caller's, taken on the loop: Textual finds its app there.
    """

    def run() -> None:
        if app.is_running:
            fn(value)

    with contextlib.suppress(RuntimeError):  # the loop is gone: the app has ended
        loop.call_soon_threadsafe(run, context=context.copy())


def queue_change(
    app: App[Any],
    store: object,
    what: str,
    change: Callable[[HistoryStore], _R],
    *,
    key: Hashable | None = None,
    done: Callable[[_R], None] | None = None,
    failed: Callable[[LmtuiError], None] | None = None,
) -> None:
    """Run ``change(store)`` on the app's history writer; call on the loop.

    ``done(result)`` runs on the loop once it went through; ``failed(error)`` when it was
    refused (bad input, an unknown id: not retried). A database that cannot be written
    (locked, full, read-only) is reported by the writer's notice and retried, never
    dropped. ``key``: a newer change of the same key replaces one still waiting (a
    draft). Without a writer for ``store`` (see :func:`writer_for`) the change runs
    here, on ``store``.
    """
    worker = writer_for(app, store)
    if worker is None:
        try:
            try:
                result = change(store)  # type: ignore[arg-type]
            except OSError as exc:  # the store wraps these; belt and braces
                raise LmtuiError(f"history is not being saved: {what}: {exc}") from exc
        except LmtuiError as exc:
            if failed is None:
                raise
            failed(exc)
            return
        if done is not None:
            done(result)
        return
    loop, context = asyncio.get_running_loop(), contextvars.copy_context()

    def job(s: HistoryStore) -> None:
        try:
            result = change(s)
        except HistoryUnavailable:
            raise  # the writer reports it once and tries again
        except LmtuiError as exc:
            if failed is not None:
                _on_loop(app, loop, context, failed, exc)
            return
        if done is not None:
            _on_loop(app, loop, context, done, result)

    worker.submit(what, job, key)
