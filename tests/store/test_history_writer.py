"""Streaming replies: throttled writes, crash safety, failures, several processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.store.history import INTERRUPTED_NOTE, HistoryStore, ReplyWriter


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _stored(reader: HistoryStore, conversation_id: int) -> str:
    return reader.messages(conversation_id)[-1].content


def _streaming_writer(
    store: HistoryStore, clock: FakeClock, interval: float = 1.0
) -> tuple[int, ReplyWriter]:
    cid = store.create_conversation("stream")
    mid = store.add_message(cid, "assistant", "", state="streaming")
    return cid, ReplyWriter(store, mid, interval, clock=clock)


def test_begin_reply_inserts_a_streaming_row(store: HistoryStore, reader: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "hi")
    writer = store.begin_reply(
        cid, model_requested="m", preset="p", params={"temperature": 0.5}, server="s"
    )
    (_, row) = reader.messages(cid)
    assert row.id == writer.message_id
    assert (row.role, row.state, row.content) == ("assistant", "streaming", "")
    assert (row.model_requested, row.preset, row.server) == ("m", "p", "s")
    assert row.params == {"temperature": 0.5}


def test_writes_are_throttled_to_the_interval(store: HistoryStore, reader: HistoryStore) -> None:
    clock = FakeClock()
    cid, writer = _streaming_writer(store, clock)
    writer.append("a")
    clock.now = 0.5
    writer.append("b", reasoning="r1")
    assert _stored(reader, cid) == ""
    assert writer.writes == 0
    clock.now = 1.0
    writer.append("c")
    assert _stored(reader, cid) == "abc"
    assert reader.messages(cid)[-1].reasoning == "r1"
    clock.now = 1.5
    writer.append("d")
    assert _stored(reader, cid) == "abc"
    clock.now = 2.0
    writer.append("e")
    assert _stored(reader, cid) == "abcde"
    assert writer.writes == 2
    writer.set_model_used("real-model")
    writer.finish(
        "complete",
        finish_reason="stop",
        usage={"completion_tokens": 5},
        timings={"client": {"total": 2.0}},
    )
    (row,) = reader.messages(cid)
    assert (row.content, row.state, row.finish_reason) == ("abcde", "complete", "stop")
    assert row.model_used == "real-model"
    assert row.usage == {"completion_tokens": 5}
    assert row.timings == {"client": {"total": 2.0}}
    assert writer.writes == 3


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.floats(min_value=0.0, max_value=0.7), min_size=1, max_size=40))
def test_text_older_than_an_interval_is_always_on_disk(steps: list[float]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.sqlite3"
        with HistoryStore(path) as store, HistoryStore(path) as reader:
            clock = FakeClock()
            cid, writer = _streaming_writer(store, clock, interval=1.0)
            appended: list[tuple[float, str]] = []
            for i, step in enumerate(steps):
                clock.now += step
                chunk = f"<{i}>"
                writer.append(chunk)
                appended.append((clock.now, chunk))
                on_disk = _stored(reader, cid)
                due = "".join(c for t, c in appended if t <= clock.now - 1.0)
                assert on_disk.startswith(due)
                assert "".join(c for _, c in appended).startswith(on_disk)
            writer.finish("stopped")
            assert _stored(reader, cid) == "".join(c for _, c in appended)


def test_finish_is_final(store: HistoryStore, reader: HistoryStore) -> None:
    clock = FakeClock()
    cid, writer = _streaming_writer(store, clock)
    writer.append("partial")
    writer.finish("stopped", finish_reason="stopped")
    writer.finish("complete")
    assert reader.messages(cid)[-1].state == "stopped"
    with pytest.raises(RuntimeError):
        writer.append("more")
    with pytest.raises(ValueError):
        _streaming_writer(store, clock)[1].finish("streaming")


def test_full_disk_never_kills_a_reply(store: HistoryStore, reader: HistoryStore) -> None:
    clock = FakeClock()
    cid, writer = _streaming_writer(store, clock, interval=0.0)
    writer.append("kept ")
    assert _stored(reader, cid) == "kept "
    conn = store._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = "x" * 300_000
    writer.append(big)  # the write fails: reported, not raised
    assert writer.error is not None
    assert writer.error.startswith("history is not being saved")
    first_error = writer.error
    writer.append("more")
    assert writer.error == first_error
    assert writer.content == "kept " + big + "more"  # nothing lost in memory
    conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    writer.append("!")
    assert _stored(reader, cid) == "kept " + big + "more!"
    writer.finish("complete")
    assert reader.messages(cid)[-1].state == "complete"


def test_failed_finish_is_reported_not_raised(store: HistoryStore, reader: HistoryStore) -> None:
    clock = FakeClock()
    cid, writer = _streaming_writer(store, clock)
    conn = store._conn
    assert conn is not None
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    writer.append("y" * 300_000)
    writer.finish("complete")
    assert writer.error is not None and "full" in writer.error
    # The row is left as it was: streaming, to be shown interrupted once this writer is gone.
    assert reader.messages(cid)[-1].state == "streaming"


def test_busy_database_is_retried_silently(store: HistoryStore, db_path: Path) -> None:
    clock = FakeClock()
    cid, writer = _streaming_writer(store, clock, interval=0.0)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        writer.append("while locked")
        assert writer.error is None
        assert writer.writes == 0
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    writer.append(", then free")
    assert writer.writes == 1
    assert _stored(store, cid) == "while locked, then free"


def test_update_message_to_streaming_claims_and_releases(
    store: HistoryStore, db_path: Path
) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "first part", state="stopped")
    store.update_message(mid, state="streaming")
    # Our own process is alive: a new store leaves the reply alone.
    with HistoryStore(db_path) as again:
        assert again.messages(cid)[-1].state == "streaming"
        assert again.recovered == 0
    store.update_message(mid, content="first part, continued", state="complete")
    conn = sqlite3.connect(db_path)
    try:
        row = conn.execute("SELECT writer_pid, state FROM messages WHERE id = ?", (mid,)).fetchone()
    finally:
        conn.close()
    assert row == (None, "complete")


# ---- several processes ---------------------------------------------------------

_ENDLESS_REPLY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lmtui.store.history import HistoryStore

    store = HistoryStore(Path(sys.argv[1]))
    cid = store.create_conversation("crash test")
    store.add_message(cid, "user", "talk forever")
    writer = store.begin_reply(cid, flush_interval=0.0)
    print(cid, flush=True)
    i = 0
    while True:
        writer.append(f"chunk{i} ")
        i += 1
        if i == 50:
            print("flushed", flush=True)
    """
)

_WAITING_REPLY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lmtui.store.history import HistoryStore

    store = HistoryStore(Path(sys.argv[1]))
    cid = store.create_conversation("live")
    writer = store.begin_reply(cid, flush_interval=0.0)
    writer.append("still going")
    print(cid, flush=True)
    sys.stdin.read()
    writer.append(", done")
    writer.finish("complete", finish_reason="stop")
    """
)

_MANY_WRITES = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lmtui.store.history import HistoryStore

    store = HistoryStore(Path(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(150):
        cid = store.create_conversation(f"{sys.argv[2]} {i}")
        store.add_message(cid, "user", f"question {sys.argv[2]} {i}")
        writer = store.begin_reply(cid, flush_interval=0.0)
        writer.append(f"answer {sys.argv[2]}")
        writer.finish("complete")
    store.close()
    """
)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_killed_writer_leaves_an_interrupted_reply_with_its_text(db_path: Path) -> None:
    proc = _spawn(_ENDLESS_REPLY, str(db_path))
    try:
        assert proc.stdout is not None
        cid = int(proc.stdout.readline())
        assert proc.stdout.readline() == "flushed\n"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stdin is not None:
            proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore(db_path) as store:
        assert store.recovered == 1
        user, reply = store.messages(cid)
        assert user.content == "talk forever"
        assert reply.state == "interrupted"
        assert reply.error == INTERRUPTED_NOTE
        assert reply.content.startswith("".join(f"chunk{i} " for i in range(50)))
    with HistoryStore(db_path) as again:
        assert again.recovered == 0


def test_live_writer_in_another_process_is_left_streaming(db_path: Path) -> None:
    proc = _spawn(_WAITING_REPLY, str(db_path))
    try:
        assert proc.stdout is not None and proc.stdin is not None
        cid = int(proc.stdout.readline())
        with HistoryStore(db_path) as store:
            assert store.recovered == 0
            (reply,) = store.messages(cid)
            assert (reply.state, reply.content) == ("streaming", "still going")
        proc.stdin.close()
        assert proc.wait() == 0
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    with HistoryStore(db_path) as store:
        (reply,) = store.messages(cid)
        assert (reply.state, reply.content) == ("complete", "still going, done")


def test_two_processes_write_at_once_without_losing_rows(db_path: Path) -> None:
    HistoryStore(db_path).close()
    procs = [_spawn(_MANY_WRITES, str(db_path), name) for name in ("alpha", "beta")]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline() == "ready\n"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.close()
        assert [p.wait() for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
    with HistoryStore(db_path) as store:
        assert store.count_conversations() == 300
        for name in ("alpha", "beta"):
            hits = store.search(f"answer {name}", limit=None)
            assert len(hits) == 150
        for summary in store.list_conversations(limit=None):
            _, messages = store.get_conversation(summary.id)
            assert [(m.role, m.state) for m in messages] == [
                ("user", "complete"),
                ("assistant", "complete"),
            ]


def test_pid_of_this_process_is_recorded(store: HistoryStore, db_path: Path) -> None:
    writer = store.begin_reply(store.create_conversation())
    conn = sqlite3.connect(db_path)
    try:
        pid = conn.execute(
            "SELECT writer_pid FROM messages WHERE id = ?", (writer.message_id,)
        ).fetchone()[0]
    finally:
        conn.close()
    assert pid == os.getpid()
