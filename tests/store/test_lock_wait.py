"""LMTUI_HISTORY_BUSY_TIMEOUT: how long a history write waits for another process's lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.store.history import HistoryStore, HistoryUnavailable
from lmtui.store.lock_wait import BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT, history_busy_timeout
from lmtui.store.vectors import VectorStore
from tests.conftest import RunLmtui


def test_the_wait_is_5_s_unless_the_environment_says_otherwise() -> None:
    assert history_busy_timeout({}) == DEFAULT_BUSY_TIMEOUT == 5.0
    assert history_busy_timeout({BUSY_TIMEOUT_ENV: ""}) == 5.0
    assert history_busy_timeout({BUSY_TIMEOUT_ENV: " 0.25 "}) == 0.25
    assert history_busy_timeout({BUSY_TIMEOUT_ENV: "0"}) == 0.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e999"])
def test_a_bad_wait_is_a_config_error_with_a_remedy(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        history_busy_timeout({BUSY_TIMEOUT_ENV: value})
    assert caught.value.message == f"{BUSY_TIMEOUT_ENV} must be a number of seconds, 0 or more."
    assert "unset it" in caught.value.remedy


def test_the_stores_wait_what_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "history.db"
    monkeypatch.setenv(BUSY_TIMEOUT_ENV, "0.05")
    with HistoryStore(db) as store:
        assert store.busy_timeout == 0.05
        with HistoryStore(db, busy_timeout=2.0, recover=False) as named:
            assert named.busy_timeout == 2.0  # a caller's own wait wins
        store.create_conversation("before the lock")
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(HistoryUnavailable, match="locked"):
                store.create_conversation("while locked")  # given up after 0.05 s, not 5
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        vectors = VectorStore(db)
        try:
            assert vectors._conn is not None
            assert vectors._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 50
        finally:
            vectors.close()


def test_a_bad_wait_is_one_line_from_the_cli(run_lmtui: RunLmtui) -> None:
    done = run_lmtui("history", "list", env={BUSY_TIMEOUT_ENV: "soon"})
    assert done.returncode == 2
    assert done.stderr.startswith(f"lmtui: {BUSY_TIMEOUT_ENV} must be a number of seconds")
    assert "Traceback" not in done.stderr
