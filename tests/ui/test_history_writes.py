"""History writes leave the event loop: a locked database never stalls keys or frames."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from lmtui.services.chat import COMPLETE
from lmtui.store import write_worker
from lmtui.store.history import HistoryStore
from lmtui.store.paths import history_db
from lmtui.ui import history_writes
from lmtui.ui.app import LmtuiApp
from lmtui.ui.history_browser import HistoryBrowser
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry a locked write every 50 ms: each test lets go of the lock when it chooses,
    and the writer's growing pauses (up to 1 s) would only make it wait longer."""
    monkeypatch.setattr(write_worker, "RETRY_PAUSES", (0.05,))


def stored(path: Path, message_id: int) -> tuple[str, str]:
    """The stored state and content of one message, read on a connection of its own."""
    with sqlite3.connect(path) as conn:  # WAL: a reader is never blocked by the writer
        row = conn.execute(
            "SELECT state, content FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


async def test_a_reply_streams_and_keys_work_while_another_connection_holds_the_lock(
    fake: FakeServer, make_app: AppFactory
) -> None:
    words = [f"word{i} " for i in range(30)]
    fake.enqueue(Reply(deltas=words, delay=0.04))  # longer than the 1 s flush interval
    # A short busy timeout: a write gives up (and is reported) soon, not after 5 s.
    history = HistoryStore(history_db(), busy_timeout=0.2)
    app = make_app(history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        assert history._conn is not None
        session = app.chat_screen.session
        await send(pilot, "talk for a while")
        await wait_until(
            pilot, lambda: len(session.entries) == 2 and session.entries[1].message_id is not None
        )
        mid = session.entries[1].message_id
        assert mid is not None
        # Every statement the loop's own connection runs while the lock is held.
        on_loop: list[str] = []
        locked = False
        history._conn.set_trace_callback(lambda sql: on_loop.append(sql) if locked else None)
        holder = sqlite3.connect(history.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        locked = True
        try:
            await wait_idle(pilot)
            assert session.entries[1].state == COMPLETE
            app.chat_screen.composer.focus()
            await pilot.press("a", "b", "c")
            await pilot.pause()
            assert app.chat_screen.composer.text == "abc"
            # The loop never tried to write, so it never waited on the lock...
            assert not [sql for sql in on_loop if sql.upper().startswith(("BEGIN", "UPDATE"))]
            # ...the reply waits in the worker, and the user is told.
            assert stored(history.path, mid)[0] == "streaming"
            await wait_until(
                pilot,
                lambda: any("retrying" in str(n.message) for n in app._notifications),
            )
        finally:
            locked = False
            holder.execute("ROLLBACK")
            holder.close()
        await wait_until(pilot, lambda: stored(history.path, mid)[0] == COMPLETE)
        assert stored(history.path, mid)[1] == "".join(words)
        await wait_until(
            pilot, lambda: any("saved again" in str(n.message) for n in app._notifications)
        )


WRITES = ("BEGIN", "INSERT", "UPDATE", "DELETE", "REPLACE")


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows read on a connection of the test's own (WAL: never blocked by the lock holder)."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


async def test_every_history_write_waits_in_the_worker_while_another_connection_holds_the_lock(
    fake: FakeServer, make_app: AppFactory
) -> None:
    history = HistoryStore(history_db(), busy_timeout=0.05)
    old = history.create_conversation("an old chat")
    history.add_message(old, "user", "before")
    history.add_message(old, "assistant", "earlier answer")
    doomed = history.create_conversation("to delete")
    history.add_message(doomed, "user", "bye")
    fake.enqueue(Reply(text="a reply to a new chat"))
    fake.enqueue(Reply(text="a reply to an old chat"))
    app = make_app(history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        conn = history._conn
        assert conn is not None
        on_loop: list[str] = []
        conn.set_trace_callback(lambda sql: on_loop.append(sql.lstrip().upper()))
        holder = sqlite3.connect(history.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            screen = app.chat_screen
            # Enter on a new chat: the conversation, the prompt and the reply's row all wait.
            await send(pilot, "hello new chat")
            await wait_idle(pilot)
            new_entries = list(screen.session.entries)
            assert [e.content for e in new_entries] == ["hello new chat", "a reply to a new chat"]
            assert new_entries[1].state == COMPLETE
            assert screen.session.conversation_id is None  # its insert is still queued
            await pilot.press("x", "y")
            assert screen.composer.text == "xy"
            screen.composer.clear()
            # Enter on an existing chat.
            await screen.open_conversation(old)
            await send(pilot, "hello old chat")
            await wait_idle(pilot)
            assert screen.session.entries[-1].content == "a reply to an old chat"
            # The history browser: rename one conversation, delete another.
            await pilot.press("f6")
            await wait_until(pilot, lambda: isinstance(app.screen, HistoryBrowser))
            browser = app.screen
            assert isinstance(browser, HistoryBrowser)
            options = browser.option_list
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            ids = [int(i) for i in ids if i is not None]
            browser.option_list.highlighted = ids.index(old)
            await pilot.press("r")
            await pilot.pause()
            await pilot.press(*"new", "enter")  # the old title is selected: replaced
            await pilot.pause()
            browser.option_list.highlighted = ids.index(doomed)
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)
            screen.composer.focus()
            await pilot.press("o", "k")
            assert screen.composer.text == "ok"
            # Nothing was written on the loop, so nothing there waited on the lock...
            assert [sql for sql in on_loop if sql.startswith(WRITES)] == []
            assert rows(history.path, "SELECT count(*) FROM conversations")[0][0] == 2
            # ...the writes wait in the worker, and the user is told they are retried.
            await wait_until(
                pilot, lambda: any("retrying" in str(n.message) for n in app._notifications)
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        writes = app._writes
        assert writes is not None
        await wait_until(pilot, lambda: writes.pending() == 0)
        new = new_entries[0].message_id
        assert new is not None and new_entries[1].message_id is not None
        (new_cid,) = rows(
            history.path, "SELECT conversation_id FROM messages WHERE id = ?", (new,)
        )[0]
        assert rows(
            history.path,
            "SELECT role, content, state FROM messages WHERE conversation_id = ? ORDER BY seq",
            (new_cid,),
        ) == [
            ("user", "hello new chat", "complete"),
            ("assistant", "a reply to a new chat", "complete"),
        ]
        assert rows(
            history.path,
            "SELECT role, content FROM messages WHERE conversation_id = ? ORDER BY seq",
            (old,),
        ) == [
            ("user", "before"),
            ("assistant", "earlier answer"),
            ("user", "hello old chat"),
            ("assistant", "a reply to an old chat"),
        ]
        assert rows(history.path, "SELECT title FROM conversations WHERE id = ?", (old,)) == [
            ("new",)
        ]
        assert rows(
            history.path, "SELECT deleted IS NOT NULL FROM conversations WHERE id = ?", (doomed,)
        ) == [(1,)]
        assert rows(history.path, "SELECT title FROM conversations WHERE id = ?", (new_cid,)) == [
            ("hello new chat",)
        ]


async def test_the_app_starts_with_history_on_while_a_dead_replys_recovery_waits_for_the_lock(
    make_app: AppFactory,
) -> None:
    with HistoryStore(history_db()) as store:
        cid = store.create_conversation("cut off")
        mid = store.add_message(cid, "assistant", "partial", state="streaming")
        assert store._conn is not None
        store._conn.execute("UPDATE messages SET writer_pid = ? WHERE id = ?", (2**30, mid))
    holder = sqlite3.connect(history_db(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        app = make_app()  # opens the history here: marking the reply is a write, left to later
        assert app.history is not None and app.history_problem is None
        async with app.run_test() as pilot:
            await pilot.press("h", "i")
            assert app.chat_screen.composer.text == "hi"
            assert stored(history_db(), mid) == ("streaming", "partial")
            await wait_until(
                pilot, lambda: any("retrying" in str(n.message) for n in app._notifications)
            )
            holder.execute("ROLLBACK")
            await wait_until(pilot, lambda: stored(history_db(), mid)[0] == "interrupted")
    finally:
        holder.close()


async def test_quitting_with_the_lock_still_held_says_how_many_writes_were_left(
    fake: FakeServer, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_writes, "EXIT_WAIT", 0.2)
    fake.enqueue(Reply(text="never stored"))
    app = make_app(history=HistoryStore(history_db(), busy_timeout=0.05))
    holder = sqlite3.connect(history_db(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async with app.run_test() as pilot:
            await send(pilot, "q")
            await wait_idle(pilot)
            await wait_until(pilot, lambda: "locked" in app.chat_screen.status.warning)
        note = app.unsaved_on_exit
        assert note is not None and "database is locked" in note and "retrying" not in note
        # The conversation, the prompt, the reply, its details, the draft: none dropped quietly.
        assert int(note.split()[0]) >= 5 and "history writes could not be saved" in note
        # ... and the conversation itself is kept in a private file, to import.
        (rescued,) = (history_db().parent / "rescued").iterdir()
        assert f"The open conversation is kept in {rescued}: `lmtui history import" in note
        assert stat.S_IMODE(rescued.stat().st_mode) == 0o600
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with HistoryStore(history_db()) as store:
        assert store.import_file(rescued) == 1
        # The imported one is the last made. (The worker, given up on at quit, may still
        # have landed a write once the lock went: then part of the chat shows twice.)
        summary = max(store.list_conversations(), key=lambda c: c.id)
        messages = store.get_conversation(summary.id)[1]
    assert summary.title == "q"
    assert [(m.role, m.content, m.state) for m in messages] == [
        ("user", "q", "complete"),
        ("assistant", "never stored", "complete"),
    ]


def test_a_conversation_with_no_messages_is_not_kept(tmp_path: Path) -> None:
    from lmtui.services.chat import ChatSession
    from lmtui.services.history_rescue import rescue_conversation

    class NoClient:
        base_url = "http://127.0.0.1:9"

    session = ChatSession(NoClient(), model="m", system_prompt="be brief")  # type: ignore[arg-type]
    assert rescue_conversation(session, tmp_path) is None
    assert not (tmp_path / "rescued").exists()


def test_nothing_is_said_when_every_write_went_through() -> None:
    assert history_writes.unsaved_note(0, "database is locked") is None
    assert history_writes.unsaved_note(1, None) == (
        "1 history write could not be saved before quitting; "
        "a reply saved in part shows as interrupted next time."
    )


async def test_writes_wait_while_a_reply_is_drawn_and_go_once_its_end_is_painted(
    fake: FakeServer, make_app: AppFactory
) -> None:
    # The writer thread took the interpreter from the loop at the end of fast replies;
    # the screen holds the writes from Enter until the reply's end is painted.
    fake.enqueue(Reply(deltas=[f"w{i} " for i in range(10)], delay=0.02))
    history = HistoryStore(history_db())
    app = make_app(history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.chat_screen.session
        worker = session.writes
        assert worker is not None and not worker.held
        await send(pilot, "hello")
        assert worker.held  # the prompt's and the reply's rows wait
        await wait_idle(pilot)
        await pilot.pause()
        assert not worker.held  # released by the end's paint, not by the hold running out
        assert worker.drain(10)
        mid = session.entries[1].message_id
        assert mid is not None
        assert stored(history.path, mid) == (COMPLETE, "".join(f"w{i} " for i in range(10)))
