"""The id of a row a queued history write inserts: known once the insert ran.

The TUI queues every history write on a :class:`~lmtui.store.write_worker.WriteWorker`,
the inserts too, so pressing Enter never waits on the database. A new conversation's
or message's id is then not known at once: the caller holds a :class:`RowRef`, which
the worker fills in when the insert goes through. Later writes to that row are queued
after the insert (the worker runs jobs in order) and read the id when they run.
Importing this module is cheap: it does not load the history store.
"""

from __future__ import annotations

__all__ = ["RowRef"]


class RowRef:
    """The id of one stored row: known now, or once the worker's insert of it ran.

    Compared and hashed by identity, so it can key the jobs of one row in the worker
    before its id is known.
    """

    __slots__ = ("_id", "what")

    def __init__(self, row_id: int | None = None, what: str = "row") -> None:
        """``row_id``: the id when the row exists already; ``what`` names it in errors."""
        self._id = row_id
        self.what = what

    @property
    def id(self) -> int | None:
        """The row's id, or None while its insert is still queued (or was dropped)."""
        return self._id

    def set(self, row_id: int) -> int:
        """Record the id the insert gave (called on the worker thread); returns it."""
        self._id = row_id
        return row_id

    def require(self) -> int:
        """The id; :class:`ConversationNotFound` when the row was never inserted.

        A job queued after the insert only meets an unknown id when the insert was
        dropped (its conversation was deleted meanwhile): the job is dropped too.
        """
        if self._id is None:
            from lmtui.store.history import ConversationNotFound  # only on this rare path

            raise ConversationNotFound(f"The {self.what} was never saved.")
        return self._id

    def __repr__(self) -> str:
        return f"RowRef({self._id!r}, {self.what!r})"
