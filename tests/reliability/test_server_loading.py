"""llama.cpp answering 503 "Loading model": the app waits, retries with a bounded backoff
and a visible state, and recovers on its own when the server is ready."""

from __future__ import annotations

from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
from lmtui.ui.server_loading import LOADING_TEXT, LoadingRetry
from tests.fake_server import LOADING_503, FakeServer
from tests.ui.conftest import wait_until

MODEL = "qwen2.5-7b-instruct"


def test_the_backoff_grows_and_is_bounded() -> None:
    retry = LoadingRetry(first=0.5, ceiling=8.0, limit=30)
    delays = [retry.next_delay() for _ in range(10)]
    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert max(delays) == 8.0
    retry.reset()
    assert retry.next_delay() == 0.5
    for _ in range(40):
        retry.next_delay()
    assert retry.exhausted


async def test_a_loading_server_is_shown_retried_and_recovered_from() -> None:
    # Only the OpenAI listing, as llama.cpp serves, answering "Loading model" three times.
    with FakeServer(native_v1=False, native_v0=False) as srv:
        for _ in range(3):
            srv.enqueue(LOADING_503, path="/v1/models")
        app = LmtuiApp(Config(base_url=srv.base_url, model=MODEL), server_label="fake")
        async with app.run_test() as pilot:
            screen = app.chat_screen
            await wait_until(pilot, lambda: LOADING_TEXT in screen.status.warning)
            busy = str(screen.sidebar.query_one("#sidebar-busy").render())
            assert LOADING_TEXT in busy
            assert screen.loading_retry.pending  # a timer, only while loading
            await wait_until(pilot, lambda: screen.status.server_ok is True, steps=3000)
            assert LOADING_TEXT not in screen.status.warning
            assert LOADING_TEXT not in str(screen.sidebar.query_one("#sidebar-busy").render())
            assert not screen.loading_retry.pending  # idle: no timer left
            assert len(srv.requests_to("/v1/models")) >= 4
            assert [m.id for m in screen.sidebar.models] != []
            # Not an error toast per retry: the state is on the status line and sidebar.
            assert not [n for n in app._notifications if n.severity == "error"]


def test_a_loading_server_counts_as_there_at_launch() -> None:
    # At launch a loading server must not be taken for no server (the embedded one
    # would be started, or "Cannot reach the server" shown): the app waits for it instead.
    from lmtui.services.local_server import server_answers

    with FakeServer(native_v1=False, native_v0=False) as srv:
        srv.enqueue(LOADING_503, path="/v1/models")
        assert server_answers(srv.base_url, timeout=5)
