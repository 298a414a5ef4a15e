"""Fixtures for the workbench tests: a client on the fake server, a history, vectors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.store.history import HistoryStore
from lmtui.store.vectors import VectorStore
from tests.fake_server import FakeServer


@pytest.fixture
async def client(fake_server: FakeServer) -> AsyncIterator[LMStudioClient]:
    """The real client, talking to the fake server."""
    async with LMStudioClient(fake_server.base_url) as c:
        yield c


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's history database goes (its directory does not exist yet)."""
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def history(db_path: Path) -> Iterator[HistoryStore]:
    """A history store on a new database."""
    with HistoryStore(db_path) as store:
        yield store


@pytest.fixture
def vectors(history: HistoryStore, db_path: Path) -> Iterator[VectorStore]:
    """The vector table of ``history``'s database."""
    with VectorStore(db_path) as store:
        yield store
