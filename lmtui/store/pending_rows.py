"""A streaming reply whose row the history worker inserts: Enter never waits on the database.

:func:`queue_reply` queues the insert of the reply's row and returns its writer at once;
the writer's saves name the row by a :class:`~lmtui.store.row_ref.RowRef` and are queued
after the insert, so they find its id when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmtui.store.history import HistoryStore, ReplyWriter, WriteQueue
from lmtui.store.row_ref import RowRef

__all__ = ["QueuedReplyWriter", "queue_reply"]


class QueuedReplyWriter(ReplyWriter):
    """A :class:`ReplyWriter` whose row is inserted by the worker: its saves name a :class:`RowRef`.

    ``message_id`` is 0 until the insert ran, then the row's id.
    """

    def __init__(
        self, store: HistoryStore, row: RowRef, flush_interval: float, *, worker: WriteQueue
    ) -> None:
        super().__init__(store, row.id or 0, flush_interval, worker=worker)
        self.row = row

    def _submit(self, final: dict[str, Any] | None) -> None:
        """Queue a snapshot of the reply (same key: a newer one replaces one still waiting)."""
        assert self.worker is not None
        row, content, reasoning, model = self.row, self.content, self.reasoning, self._model_used

        def job(store: HistoryStore) -> None:
            store._write_reply(row.require(), content, reasoning, model, final=final)
            self.writes += 1

        self.worker.submit("save reply", job, key=("message", row))
        self._dirty = False


def queue_reply(
    store: HistoryStore,
    worker: WriteQueue,
    conversation: RowRef,
    *,
    row: RowRef | None = None,
    on_saved: Callable[[int], None] | None = None,
    flush_interval: float = 1.0,
    **columns: Any,
) -> QueuedReplyWriter:
    """Queue the insert of a streaming assistant message and return its writer at once.

    ``columns`` are :meth:`HistoryStore.add_message`'s keywords (``model_requested``,
    ``preset``, ``params``, ``server``); ``on_saved(message_id)`` runs on the worker
    thread once the row exists; ``row`` is the reply's (new) row, when the caller made it.
    """
    row = row if row is not None else RowRef(what="reply")
    writer = QueuedReplyWriter(store, row, flush_interval, worker=worker)

    def insert(s: HistoryStore) -> None:
        message_id = row.set(
            s.add_message(conversation.require(), "assistant", "", state="streaming", **columns)
        )
        writer.message_id = message_id
        if on_saved is not None:
            on_saved(message_id)

    worker.submit("start reply", insert)
    return writer
