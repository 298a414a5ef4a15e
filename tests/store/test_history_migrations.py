"""Schema migrations: every earlier version opens, migrates and keeps its data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lmtui.store.history import HistoryStore, HistoryUnavailable
from lmtui.store.history_schema import CURRENT_VERSION, MIGRATIONS, migrate, schema_version


def _old_database(path: Path, version: int) -> None:
    """A database at schema ``version`` holding data written with the v1 columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, target=version) == 0
        assert schema_version(conn) == version
        conn.execute(
            "INSERT INTO conversations (id, title, created, updated, model) "
            "VALUES (1, 'Platypus facts', 100.0, 200.0, 'old-model')"
        )
        rows = [
            (1, 1, "user", "Tell me about the platypus", 100.0, "complete"),
            (2, 2, "assistant", "It lays eggs and the reply was cut", 101.0, "streaming"),
        ]
        conn.executemany(
            "INSERT INTO messages (conversation_id, seq, role, content, created, state, id) "
            "VALUES (1, ?, ?, ?, ?, ?, ?)",
            [
                (seq, role, content, created, state, mid)
                for mid, seq, role, content, created, state in rows
            ],
        )
        conn.execute(
            "INSERT INTO drafts (key, text, updated) VALUES ('new', 'unsent words', 150.0)"
        )
    finally:
        conn.close()


@pytest.mark.parametrize("version", range(1, CURRENT_VERSION))
def test_every_earlier_version_migrates_and_keeps_data(db_path: Path, version: int) -> None:
    _old_database(db_path, version)
    with HistoryStore(db_path) as store:
        conn = sqlite3.connect(db_path)
        try:
            assert schema_version(conn) == CURRENT_VERSION
        finally:
            conn.close()
        summary, messages = store.get_conversation(1)
        assert (summary.title, summary.created, summary.updated) == ("Platypus facts", 100.0, 200.0)
        assert summary.model == "old-model"
        assert [m.content for m in messages] == [
            "Tell me about the platypus",
            "It lays eggs and the reply was cut",
        ]
        # A reply left streaming by an old version has no live writer: interrupted, text kept.
        assert [m.state for m in messages] == ["complete", "interrupted"]
        assert store.recovered == 1
        # Text written before the search index existed is searchable.
        assert [h.conversation_id for h in store.search("eggs")] == [1]
        assert [h.conversation_id for h in store.search("platypus")] == [1]
        assert store.load_draft("new") == "unsent words"
        # And the migrated database takes new writes.
        store.add_message(1, "user", "more about echidnas")
        assert [h.conversation_id for h in store.search("echidnas")] == [1]


def test_new_database_is_at_the_current_version(store: HistoryStore, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        assert schema_version(conn) == CURRENT_VERSION == len(MIGRATIONS)
    finally:
        conn.close()


def test_reopening_does_not_migrate_again(db_path: Path) -> None:
    HistoryStore(db_path).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert migrate(conn) == CURRENT_VERSION
    finally:
        conn.close()


def test_newer_database_is_refused_untouched(db_path: Path) -> None:
    HistoryStore(db_path).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryUnavailable) as info:
        HistoryStore(db_path)
    assert "Upgrade lmtui" in info.value.remedy
    conn = sqlite3.connect(db_path)
    try:
        assert schema_version(conn) == CURRENT_VERSION + 1
    finally:
        conn.close()
