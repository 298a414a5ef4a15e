"""The history write worker: order, merged snapshots, retry and report, close."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from lmtui.store.history import HistoryStore
from lmtui.store.write_worker import WriteWorker


def test_writes_run_in_order_and_a_waiting_snapshot_is_replaced(
    store: HistoryStore, db_path: Path
) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "", state="streaming")
    gate = threading.Event()
    ran: list[str] = []
    worker = WriteWorker(lambda: HistoryStore(db_path))
    try:
        worker.submit("hold", lambda s: gate.wait(10))  # keeps the next jobs waiting
        worker.submit("first", lambda s: ran.append("first"))
        worker.submit("v1", lambda s: ran.append("v1"), key="reply")
        worker.submit("last", lambda s: ran.append("last"))
        worker.submit(
            "v2", lambda s: (ran.append("v2"), s.update_message(mid, content="v2")), "reply"
        )
        gate.set()
        assert worker.drain(10)
        assert ran == ["first", "v2", "last"]  # v2 took v1's place in the queue
        assert store.messages(cid)[0].content == "v2"
    finally:
        assert worker.close(10) == 0


def test_a_locked_write_is_reported_retried_and_completes(
    store: HistoryStore, db_path: Path
) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "", state="streaming")
    problems: list[str] = []
    recovered: list[str] = []
    reported = threading.Event()

    def on_problem(text: str) -> None:
        problems.append(text)
        reported.set()

    worker = WriteWorker(
        lambda: HistoryStore(db_path, busy_timeout=0.05),
        on_problem=on_problem,
        on_recovered=recovered.append,
    )
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        worker.submit("save reply", lambda s: s.update_message(mid, content="kept"))
        assert reported.wait(10)
        assert "locked" in problems[0] and "retrying (save reply)" in problems[0]
        assert worker.pending() == 1
        holder.execute("ROLLBACK")
        assert worker.drain(10)
        assert store.messages(cid)[0].content == "kept"
        assert problems == [problems[0]]  # told once, not once per try
        assert recovered == ["history is being saved again"]
    finally:
        holder.close()
        worker.close(10)


def test_close_says_how_many_writes_were_left(store: HistoryStore, db_path: Path) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "user", "a")
    worker = WriteWorker(lambda: HistoryStore(db_path, busy_timeout=0.05))
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        worker.submit("save edit", lambda s: s.update_message(mid, content="b"))
        assert worker.close(timeout=0.3) == 1
        assert worker.closed
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_hold_keeps_writes_waiting_in_order_until_released(db_path: Path) -> None:
    ran: list[str] = []
    worker = WriteWorker(lambda: HistoryStore(db_path))
    try:
        worker.hold(60)
        worker.submit("a", lambda s: ran.append("a"))
        worker.submit("b", lambda s: ran.append("b"))
        assert worker.held
        assert not worker.drain(0.2)  # nothing starts while held
        assert ran == [] and worker.pending() == 2
        worker.release()
        assert worker.drain(10)
        assert ran == ["a", "b"] and not worker.held
    finally:
        assert worker.close(10) == 0


def test_a_hold_ends_by_itself_and_close_never_waits_for_one(db_path: Path) -> None:
    ran: list[str] = []
    worker = WriteWorker(lambda: HistoryStore(db_path))
    worker.hold(0.05)
    worker.submit("a", lambda s: ran.append("a"))
    assert worker.drain(10)  # the hold ran out: the write went through unreleased
    assert ran == ["a"]
    worker.hold(60)
    worker.submit("b", lambda s: ran.append("b"))
    assert worker.close(10) == 0  # closing ends the hold: the queued write is done
    assert ran == ["a", "b"]
