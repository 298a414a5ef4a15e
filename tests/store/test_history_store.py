"""The history store: conversations, messages, drafts, files and failures."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from lmtui.store.history import (
    UNTITLED,
    ConversationNotFound,
    HistoryInputError,
    HistoryStore,
    HistoryUnavailable,
    make_title,
)
from lmtui.store.paths import history_db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_path_follows_xdg_data_home(xdg_dirs: Path) -> None:
    with HistoryStore() as s:
        assert s.path == xdg_dirs / "xdg_data_home" / "lmtui" / "history.sqlite3"
        assert s.path == history_db()
        assert s.path.exists()


def test_files_are_private(store: HistoryStore, db_path: Path) -> None:
    cid = store.create_conversation("secret")
    store.add_message(cid, "user", "my secret prompt")
    assert _mode(db_path.parent) == 0o700
    assert _mode(db_path) == 0o600
    wal = Path(f"{db_path}-wal")
    shm = Path(f"{db_path}-shm")
    assert wal.exists() and shm.exists()
    assert _mode(wal) == 0o600
    assert _mode(shm) == 0o600


def test_wal_mode_and_busy_timeout(store: HistoryStore, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store.busy_timeout == 5.0


def test_conversation_and_messages_round_trip(store: HistoryStore) -> None:
    cid = store.create_conversation("  A   title\n", model="m1", preset="coding", server="local")
    u = store.add_message(cid, "user", "Hi", attachments=("image:10 bytes",))
    a = store.add_message(
        cid,
        "assistant",
        "Hello!",
        reasoning="think",
        model_requested="m1",
        model_used="m1-q4",
        preset="coding",
        params={"temperature": 0.2},
        finish_reason="stop",
        usage={"prompt_tokens": 3, "completion_tokens": 2},
        timings={"client": {"ttft": 0.1}},
        server="local",
    )
    summary, messages = store.get_conversation(cid)
    assert summary.title == "A title"
    assert (summary.model, summary.preset, summary.server) == ("m1", "coding", "local")
    assert summary.message_count == 2
    assert [m.id for m in messages] == [u, a]
    assert [m.seq for m in messages] == [1, 2]
    user, reply = messages
    assert user.attachments == ("image:10 bytes",)
    assert user.params == {} and user.usage is None and user.state == "complete"
    assert reply.reasoning == "think"
    assert reply.model_used == "m1-q4"
    assert reply.params == {"temperature": 0.2}
    assert reply.usage == {"prompt_tokens": 3, "completion_tokens": 2}
    assert reply.timings == {"client": {"ttft": 0.1}}
    assert reply.finish_reason == "stop"


def test_missing_conversation_is_a_typed_error(store: HistoryStore) -> None:
    with pytest.raises(ConversationNotFound):
        store.get_conversation(42)
    with pytest.raises(ConversationNotFound):
        store.add_message(42, "user", "x")
    with pytest.raises(ConversationNotFound):
        store.update_message(42, content="x")


def test_bad_role_or_state_is_refused(store: HistoryStore) -> None:
    cid = store.create_conversation()
    with pytest.raises(ValueError, match="role"):
        store.add_message(cid, "robot", "x")
    with pytest.raises(ValueError, match="state"):
        store.add_message(cid, "user", "x", state="done")
    assert store.messages(cid) == []


def test_update_message_changes_only_given_fields(store: HistoryStore) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "v1", model_used="m", finish_reason="length")
    store.update_message(mid, content="v2", finish_reason=None)
    (m,) = store.messages(cid)
    assert m.content == "v2"
    assert m.finish_reason is None
    assert m.model_used == "m"


def test_delete_message(store: HistoryStore) -> None:
    cid = store.create_conversation()
    first = store.add_message(cid, "user", "one")
    second = store.add_message(cid, "assistant", "two")
    store.delete_message(second)
    assert [m.id for m in store.messages(cid)] == [first]
    third = store.add_message(cid, "assistant", "three")
    assert [m.id for m in store.messages(cid)] == [first, third]


def test_messages_paging_backwards(store: HistoryStore) -> None:
    cid = store.create_conversation()
    for i in range(10):
        store.add_message(cid, "user", f"m{i}")
    last = store.messages(cid, limit=3)
    assert [m.content for m in last] == ["m7", "m8", "m9"]
    earlier = store.messages(cid, limit=3, before_seq=last[0].seq)
    assert [m.content for m in earlier] == ["m4", "m5", "m6"]
    assert len(store.messages(cid)) == 10


def test_list_is_newest_first_and_paged(store: HistoryStore) -> None:
    ids = [store.create_conversation(f"c{i}") for i in range(5)]
    store.add_message(ids[1], "user", "bump")  # now the most recently updated
    listed = [s.id for s in store.list_conversations()]
    assert listed == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    assert [s.id for s in store.list_conversations(limit=2, offset=1)] == [ids[4], ids[3]]
    assert store.count_conversations() == 5


def test_trash_restore_and_purge(store: HistoryStore) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    store.add_message(gone, "user", "a doomed word")
    store.delete_conversation(gone)
    assert [s.id for s in store.list_conversations()] == [keep]
    assert [s.id for s in store.list_conversations(trash=True)] == [gone]
    assert store.search("doomed") == []
    store.restore_conversation(gone)
    assert {s.id for s in store.list_conversations()} == {keep, gone}
    assert [h.conversation_id for h in store.search("doomed")] == [gone]
    store.delete_conversation(gone)
    assert store.purge_deleted() == 1
    assert store.count_conversations(trash=True) == 0
    with pytest.raises(ConversationNotFound):
        store.get_conversation(gone)
    assert store.search("doomed") == []
    with pytest.raises(ConversationNotFound):
        store.delete_conversation(gone)


def test_rename(store: HistoryStore) -> None:
    cid = store.create_conversation("old")
    store.rename(cid, "  new\ttitle ")
    assert store.get_conversation(cid)[0].title == "new title"
    assert [h.conversation_id for h in store.search("new")] == [cid]
    assert store.search("old") == []
    with pytest.raises(HistoryInputError):
        store.rename(cid, "   ")
    with pytest.raises(ConversationNotFound):
        store.rename(cid + 1, "x")


def test_drafts(store: HistoryStore, reader: HistoryStore) -> None:
    assert store.load_draft("new") == ""
    store.save_draft("new", "half a thought\nand more")
    store.save_draft("conversation:3", "other")
    assert reader.load_draft("new") == "half a thought\nand more"
    store.save_draft("new", "rewritten")
    assert reader.load_draft("new") == "rewritten"
    store.clear_draft("new")
    assert reader.load_draft("new") == ""
    assert reader.load_draft("conversation:3") == "other"
    store.save_draft("conversation:3", "")
    assert reader.load_draft("conversation:3") == ""


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("Explain SSE in one line", "Explain SSE in one line"),
        ("\n\n   spaced    out   \nsecond line", "spaced out"),
        ("", UNTITLED),
        ("  \n \t", UNTITLED),
    ],
)
def test_auto_title(prompt: str, title: str) -> None:
    assert HistoryStore.auto_title(prompt) == title


def test_auto_title_trims_long_prompts_at_a_word() -> None:
    prompt = "Write a TypeScript function that validates an email address and explains every step"
    title = make_title(prompt)
    assert len(title) <= 60
    assert title.endswith("…")
    assert prompt.startswith(title[:-1])
    assert not title[:-1].endswith(" ")


def test_no_title_means_untitled(store: HistoryStore) -> None:
    assert store.get_conversation(store.create_conversation())[0].title == UNTITLED


# ---- failures -------------------------------------------------------------------


def test_unwritable_data_dir_is_history_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(HistoryUnavailable) as info:
        HistoryStore(blocker / "lmtui" / "history.sqlite3")
    assert info.value.message.startswith("history is not being saved: ")
    assert "writable" in info.value.remedy


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.mkdir()
    with pytest.raises(HistoryUnavailable, match="history is not being saved"):
        HistoryStore(path)


def test_corrupt_file_is_history_unavailable(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is no sqlite database, just some bytes" * 100)
    with pytest.raises(HistoryUnavailable) as info:
        HistoryStore(db_path)
    assert "aside" in info.value.remedy
    assert db_path.read_bytes().startswith(b"this is no sqlite")  # left as it was


def test_locked_database_is_history_unavailable(store: HistoryStore, db_path: Path) -> None:
    cid = store.create_conversation()
    quick = HistoryStore(db_path, busy_timeout=0.05)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(HistoryUnavailable) as info:
            quick.add_message(cid, "user", "blocked")
        assert "locked" in info.value.message
        assert "lmtui instances" in info.value.remedy
        holder.execute("ROLLBACK")
        quick.add_message(cid, "user", "now it works")
        assert [m.content for m in store.messages(cid)] == ["now it works"]
    finally:
        holder.close()
        quick.close()


def test_full_database_is_history_unavailable(store: HistoryStore) -> None:
    cid = store.create_conversation()
    conn = store._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(HistoryUnavailable) as info:
        store.add_message(cid, "user", "x" * 200_000)
    assert "full" in info.value.message
    assert "disk space" in info.value.remedy
    assert store.messages(cid) == []


def test_closed_store_raises_history_unavailable(db_path: Path) -> None:
    s = HistoryStore(db_path)
    s.close()
    s.close()
    with pytest.raises(HistoryUnavailable):
        s.list_conversations()
