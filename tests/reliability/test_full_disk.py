"""A full disk: its own message and remedy, the reply kept in memory and saved later.

SQLite's ``PRAGMA max_page_count`` on the store's connection makes every write that
needs a new page fail with SQLITE_FULL, the error a full disk gives, without root
or a small mount.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lmtui.store.history import HistoryStore, HistoryUnavailable, ReplyWriter
from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]

UNLIMITED = 1073741823


def _fill(store: HistoryStore) -> None:
    conn = store._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full


def _free(store: HistoryStore) -> None:
    conn = store._conn
    assert conn is not None
    conn.execute(f"PRAGMA max_page_count = {UNLIMITED}")


def test_a_reply_that_cannot_be_saved_is_kept_named_and_saved_later(tmp_path: Path) -> None:
    db = tmp_path / "data" / "history.db"
    store = HistoryStore(db)
    reader = HistoryStore(db)
    cid = store.create_conversation("full")
    mid = store.add_message(cid, "assistant", "", state="streaming")
    writer = ReplyWriter(store, mid, 0.0)
    _fill(store)
    text = "word " * 60_000
    writer.append(text)
    writer.finish("complete", finish_reason="stop")
    assert writer.content == text  # kept in memory, whole
    assert writer.error is not None
    assert "reply not saved" in writer.error
    assert f"the disk is full: free space at {db.parent}" in writer.error
    assert "writable" not in writer.error
    # Reads keep working on the full disk.
    assert [m.id for m in store.messages(cid)] == [mid]
    assert store.list_conversations()[0].id == cid
    _free(store)
    store.add_message(cid, "user", "next prompt")  # a later save retries the reply first
    saved = reader.messages(cid)
    assert saved[0].content == text
    assert saved[0].state == "complete"
    assert saved[0].error is None
    assert writer.unsaved is False
    store.close()
    reader.close()


def test_a_full_disk_message_has_its_own_remedy(tmp_path: Path) -> None:
    db = tmp_path / "data" / "history.db"
    store = HistoryStore(db)
    cid = store.create_conversation("full")
    _fill(store)
    with pytest.raises(HistoryUnavailable) as caught:
        store.add_message(cid, "user", "x" * 300_000)
    assert caught.value.message == (
        f"history is not being saved: the disk is full: free space at {db.parent}"
    )
    assert "writable" not in caught.value.remedy
    store.close()


async def test_the_app_says_the_reply_was_not_saved_and_keeps_it(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="first"))
    # 250 kB, in 5 kB deltas: 4-character ones (62,500 events) only made it slow to stream.
    fake.enqueue(Reply(deltas=["word " * 1_000] * 50))
    fake.enqueue(Reply(content="third"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "one")
        await wait_idle(pilot)
        assert app.history is not None
        # The TUI writes through its history worker (its own connection): fill both.
        writes = app._writes
        assert writes is not None and writes.drain(10) and writes._store is not None
        stores = [app.history, writes._store]
        for store in stores:
            _fill(store)
        await send(pilot, "two")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "word " * 50_000
        await wait_until(pilot, lambda: "the disk is full" in app.chat_screen.status.warning)
        assert "stopped before" not in app.chat_screen.status.warning
        for store in stores:
            _free(store)
        await send(pilot, "three")
        await wait_idle(pilot)
        await wait_until(pilot, lambda: writes.pending() == 0, steps=1000)
        cid = app.chat_screen.session.conversation_id
        assert cid is not None
        stored = [(m.content, m.state) for m in app.history.messages(cid)]
        assert ("word " * 50_000, "complete") in stored
        assert stored[-1] == ("third", "complete")
