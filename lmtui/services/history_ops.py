"""Changing saved history: rename, delete, restore, purge and import, for the TUI and the CLI.

Both front ends call these instead of the store's mutating methods, so a rule (a title's
shape, what a delete means) lives in one place; ``tests/test_layers.py`` keeps it so.
Each function raises the store's errors (:class:`HistoryInputError` and the other
``LmtuiError`` subclasses) with a one-line remedy; nothing is half-done on error.
"""

from __future__ import annotations

from pathlib import Path

from lmtui.store.history import HistoryStore


def rename_conversation(store: HistoryStore, conversation_id: int, title: str) -> str:
    """Give conversation ``conversation_id`` the title ``title``.

    Whitespace runs are folded to single spaces. Returns the title stored. Raises
    :class:`HistoryInputError` for an empty title or an unknown id.
    """
    store.rename(conversation_id, title)
    return " ".join(title.split())


def delete_conversation(store: HistoryStore, conversation_id: int) -> None:
    """Move conversation ``conversation_id`` to the trash; :func:`restore_conversation` undoes it.

    Raises the store's error for an unknown id. Deleting a deleted one changes nothing.
    """
    store.delete_conversation(conversation_id)


def restore_conversation(store: HistoryStore, conversation_id: int) -> None:
    """Bring conversation ``conversation_id`` back from the trash (the undo of a delete).

    Raises the store's error for an unknown id (one purged is gone for good).
    """
    store.restore_conversation(conversation_id)


def purge_trash(store: HistoryStore) -> int:
    """Delete every conversation in the trash for good; returns how many went."""
    return store.purge_deleted()


def import_conversations(store: HistoryStore, path: Path) -> int:
    """Import JSON Lines or an lmtui JSON export from ``path``; returns conversations imported.

    All or nothing: an unreadable file or a bad line raises :class:`HistoryInputError`
    and nothing is kept.
    """
    return store.import_file(path)
