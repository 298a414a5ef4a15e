"""Remembering the open conversation between runs."""

from __future__ import annotations

import stat
from pathlib import Path

from lmtui.services.setup import conversation_to_reopen
from lmtui.store.history import HistoryStore
from lmtui.store.ui_state import last_open_conversation, remember_open_conversation


def test_round_trip_private_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ui-state.json"
    assert last_open_conversation(path) is None
    remember_open_conversation(42, path)
    assert last_open_conversation(path) == 42
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    remember_open_conversation(None, path)
    assert last_open_conversation(path) is None


def test_a_broken_file_means_nothing_to_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ui-state.json"
    for text in ("{not json", "[1]", '{"open_conversation": "7"}', '{"open_conversation": true}'):
        path.write_text(text, encoding="utf-8")
        assert last_open_conversation(path) is None


def test_only_a_conversation_still_there_is_reopened(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    cid = store.create_conversation("kept")
    gone = store.create_conversation("deleted")
    store.delete_conversation(gone)
    assert conversation_to_reopen(store, cid) == cid
    assert conversation_to_reopen(store, gone) is None
    assert conversation_to_reopen(store, 9999) is None
    assert conversation_to_reopen(None, cid) is None
    assert conversation_to_reopen(store, None) is None
    store.close()
