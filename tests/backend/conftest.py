"""Fixtures for the backend wire tests: a client bound to the fake server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from lmtui.backend.client import LMStudioClient
from tests.fake_server import FakeServer


@pytest.fixture
async def client(fake_server: FakeServer) -> AsyncIterator[LMStudioClient]:
    """An ``LMStudioClient`` talking to the function's fake server."""
    async with LMStudioClient(fake_server.base_url, read_timeout=20) as c:
        yield c


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
