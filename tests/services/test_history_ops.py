"""The history service's changes on a real SQLite store: rename, trash, restore, purge, import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui.services.history_ops import (
    delete_conversation,
    import_conversations,
    purge_trash,
    rename_conversation,
    restore_conversation,
)
from lmtui.store.history import HistoryInputError, HistoryStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "h.sqlite3") as s:
        yield s


def test_rename_returns_the_folded_title_and_refuses_an_empty_one(store: HistoryStore) -> None:
    cid = store.create_conversation("old")
    assert rename_conversation(store, cid, "  Wombat   notes ") == "Wombat notes"
    assert store.get_conversation(cid)[0].title == "Wombat notes"
    with pytest.raises(HistoryInputError):
        rename_conversation(store, cid, "   ")
    assert store.get_conversation(cid)[0].title == "Wombat notes"


def test_delete_restore_and_purge(store: HistoryStore) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    delete_conversation(store, keep)
    restore_conversation(store, keep)
    delete_conversation(store, gone)
    assert [s.id for s in store.list_conversations()] == [keep]
    assert purge_trash(store) == 1
    assert [s.id for s in store.list_conversations()] == [keep]
    assert [s.id for s in store.list_conversations(trash=True)] == []


def test_import_round_trips_an_export(store: HistoryStore, tmp_path: Path) -> None:
    cid = store.create_conversation("Quokka")
    store.add_message(cid, "user", "hello quokka")
    dump = tmp_path / "dump.json"
    dump.write_text(store.export([cid], "json"), encoding="utf-8")
    with HistoryStore(tmp_path / "other.sqlite3") as other:
        assert import_conversations(other, dump) == 1
        assert [s.title for s in other.list_conversations()] == ["Quokka"]
        bad = tmp_path / "bad.jsonl"
        bad.write_text("not json\n", encoding="utf-8")
        with pytest.raises(HistoryInputError):
            import_conversations(other, bad)
        assert len(other.list_conversations()) == 1
