"""History writes leave the event loop: a locked database never stalls keys or frames."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from lmtui.services.chat import COMPLETE
from lmtui.store.history import HistoryStore
from lmtui.store.paths import history_db
from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


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
