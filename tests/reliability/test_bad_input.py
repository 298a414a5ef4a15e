"""Bad files and an unusable data directory: a clear error or a warning, and nothing lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lmtui.store import paths
from lmtui.store.history import HistoryStore
from lmtui.store.lock_wait import BUSY_TIMEOUT_ENV
from lmtui.ui import history_writes
from lmtui.ui.app import LmtuiApp
from tests.conftest import IsolatedDirs, RunLmtui
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import snapshot, write_config
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]
MODEL = "qwen2.5-7b-instruct"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('base_url = "http://x"\nmodel = \n', "line 2"),
        ('model = "m"\n\n[keys\nquit = "q"\n', "line 3"),
        ("read_timeout = 1\nbogus_setting = 2\n", "line 2"),
        ('model = "m"\nread_timeout = "soon"\n', "line 2"),
    ],
)
def test_a_broken_config_names_file_and_line_and_is_left_alone(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs, text: str, where: str
) -> None:
    path = write_config(isolated_dirs, text)
    before = snapshot(path)
    for args in (("ask", "hi"), ("models",)):
        done = run_lmtui("--base-url", "http://127.0.0.1:9", *args)
        assert done.returncode == 2, (args, done.stderr)
        first = done.stderr.splitlines()[0]
        assert first.startswith(f"lmtui: {path}: {where}"), first
        assert "Traceback" not in done.stderr
    assert snapshot(path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_an_unreadable_config_is_a_clear_error_and_left_alone(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs
) -> None:
    path = write_config(isolated_dirs, 'model = "m"\n', mode=0o000)
    before = path.stat().st_mtime_ns
    done = run_lmtui("ask", "hi")
    assert done.returncode == 2
    assert done.stderr.startswith(f"lmtui: Cannot read {path}: Permission denied")
    path.chmod(0o600)
    assert path.read_bytes() == b'model = "m"\n' and path.stat().st_mtime_ns == before


def test_a_config_path_that_cannot_be_read_is_a_clear_error(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs
) -> None:
    # Runs as any user, root included: a directory where the file should be.
    isolated_dirs.config_file.mkdir(parents=True)
    done = run_lmtui("ask", "hi")
    assert done.returncode == 2
    assert done.stderr.startswith(f"lmtui: Cannot read {isolated_dirs.config_file}: ")
    assert "Traceback" not in done.stderr
    assert isolated_dirs.config_file.is_dir()


async def test_broken_preset_and_theme_files_are_reported_and_left_alone(
    fake: FakeServer, make_app: AppFactory, run_lmtui: RunLmtui
) -> None:
    paths.ensure_private_dir(paths.presets_dir())
    paths.ensure_private_dir(paths.themes_dir())
    preset = paths.presets_dir() / "broken.toml"
    preset.write_text('name = "broken"\ntemperature = \n')
    theme = paths.themes_dir() / "broken.toml"
    theme.write_text('name = "broken"\nprimary = "#12"\nsecondary = [\n')
    before = snapshot(preset), snapshot(theme)
    listed = run_lmtui("presets", "list")
    assert listed.returncode == 0
    assert f"{preset}: line 2" in listed.stderr
    fake.enqueue(Reply(content="fine"))
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        shown = [str(n.message) for n in app._notifications]
        assert any(str(theme) in m for m in shown), shown
        await send(pilot, "still works?")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "fine"
    assert (snapshot(preset), snapshot(theme)) == before


def test_ask_with_an_unusable_data_dir_answers_and_warns(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    fake_server.enqueue(Reply(content="the answer"))
    done = run_lmtui(
        "--base-url",
        fake_server.base_url,
        "-m",
        MODEL,
        "ask",
        "q",
        env={"XDG_DATA_HOME": str(blocker)},
    )
    assert done.returncode == 0
    assert done.stdout == "the answer\n"
    assert "history is not being saved" in done.stderr


async def test_a_full_data_dir_mid_session_keeps_the_chat_and_the_draft(
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
        assert app.history is not None and app.chat_screen.status.warning == ""
        writes = app._writes
        assert writes is not None and writes.drain(10) and writes._store is not None
        # The loop's connection and the history writer's: the disk is now full for both.
        conns = [app.history._conn, writes._store._conn]
        pages = [c.execute("PRAGMA page_count").fetchone()[0] for c in conns if c]
        for conn, count in zip(conns, pages, strict=True):
            assert conn is not None
            conn.execute(f"PRAGMA max_page_count = {count}")
        await send(pilot, "two")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "word " * 50_000
        await wait_until(pilot, lambda: "full" in app.chat_screen.status.warning)
        assert "retrying" in app.chat_screen.status.warning
        draft = "draft that cannot be saved " * 2_000
        app.chat_screen.composer.insert(draft)
        await pilot.pause()
        assert app.chat_screen.composer.text == draft  # kept in memory
        app.chat_screen.composer.clear()
        await send(pilot, "three")
        await wait_idle(pilot)
        assert [e.content for e in app.chat_screen.session.entries][-1] == "third"
        # Room again: the writer's retries save the long reply, nothing was dropped.
        for conn in conns:
            assert conn is not None
            conn.execute("PRAGMA max_page_count = 1073741823")
        await wait_until(pilot, lambda: writes.pending() == 0, steps=1000)
        cid = app.chat_screen.session.conversation_id
        assert cid is not None
        stored = [m.content for m in app.history.messages(cid)]
        assert "word " * 50_000 in stored
        await wait_until(pilot, lambda: "retrying" not in app.chat_screen.status.warning)


@pytest.fixture
def locked_history(isolated_dirs: IsolatedDirs, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A history database held by another process inside ``BEGIN EXCLUSIVE``.

    The lock is held for the whole test, so a write's wait for it (5 s by default, in this
    process and in the ``lmtui`` it runs) is cut short: it ends the same way, sooner.
    """
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.2")
    db = paths.history_db()
    HistoryStore(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield db
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_ask_works_while_another_process_locks_history(
    fake_server: FakeServer, run_lmtui: RunLmtui, locked_history: Path
) -> None:
    fake_server.enqueue(Reply(content="answered anyway"))
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "answered anyway\n"
    assert "locked" in done.stderr


async def test_the_app_works_while_another_process_locks_history(
    fake: FakeServer, make_app: AppFactory, locked_history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Quitting gives the writes that wait for the lock 5 s more: the lock outlasts them.
    monkeypatch.setattr(history_writes, "EXIT_WAIT", 0.2)
    fake.enqueue(Reply(content="answered anyway"))
    app = make_app()
    async with app.run_test() as pilot:
        await send(pilot, "q")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "answered anyway"
        # The writes wait in the history worker, which says why (it keeps retrying).
        await wait_until(pilot, lambda: "locked" in app.chat_screen.status.warning)
    with sqlite3.connect(locked_history) as conn:  # readers are never blocked (WAL)
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
