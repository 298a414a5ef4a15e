"""Fixtures for tests against real servers: the real llama.cpp server (once per session)
and a fake server shaped like llama.cpp, so client tests can run against both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lmtui.services.local_server import LocalServer
from tests.integration.helpers import (
    FAKE_CHAT_MODEL,
    FAKE_EMBED_MODEL,
    Target,
    llamacpp_like_fake,
)


@pytest.fixture(
    params=[
        pytest.param("fake", id="fake"),
        pytest.param("real", id="real", marks=pytest.mark.real_server),
    ]
)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Each client test runs against the fake server and against real llama.cpp."""
    if request.param == "real":
        server: LocalServer = request.getfixturevalue("real_server")
        assert server.alive, f"the real server died; see {server.log_path}"
        yield Target("real", server.base_url, server.model_id, server.model_id)
        return
    with llamacpp_like_fake() as fake:
        yield Target("fake", fake.base_url, FAKE_CHAT_MODEL, FAKE_EMBED_MODEL, fake=fake)
