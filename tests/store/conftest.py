"""Fixtures for the store tests: private XDG dirs and a fresh history store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui.store.history import HistoryStore


@pytest.fixture(autouse=True)
def xdg_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every XDG directory into ``tmp_path`` so no test touches the real home."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's history database goes (its directory does not exist yet)."""
    return tmp_path / "data" / "lmtui" / "history.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[HistoryStore]:
    """A history store on a new database."""
    with HistoryStore(db_path) as s:
        yield s


@pytest.fixture
def reader(store: HistoryStore, db_path: Path) -> Iterator[HistoryStore]:
    """A second connection to ``store``'s database, to see what was really written."""
    with HistoryStore(db_path) as s:
        yield s
