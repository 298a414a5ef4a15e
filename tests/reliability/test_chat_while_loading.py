"""A chat sent while llama.cpp still loads its model (503 "Loading model") waits for it.

The reply used to end at once on the 503, and the prompt had to be sent again. Now the
session asks again after a bounded backoff, says so with ServerLoading events, and the
reply arrives on its own; Esc still stops it; past the limit the error is shown as before.
The fake server answers the 503 exactly as llama.cpp does (``LOADING_503``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from lmtui.backend.errors import ModelLoading
from lmtui.backend.types import ServerLoading, StreamEvent
from lmtui.services.chat import ChatSession, EntryState
from lmtui.services.clients import client_for
from lmtui.services.load_wait import LoadWait, waiting_for_load
from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
from lmtui.ui.reply_progress import ReplyProgress
from tests.fake_server import LOADING_503, FakeServer, Reply
from tests.ui.conftest import wait_until

MODEL = "qwen2.5-7b-instruct"
QUICK = LoadWait(first=0.01, ceiling=0.02, limit_s=1.0)
CHAT = "/v1/chat/completions"


def llama_cpp() -> FakeServer:
    """The fake as a llama.cpp server: the OpenAI API only."""
    return FakeServer(native_v1=False, native_v0=False)


def test_the_waits_grow_and_stop_at_the_limit() -> None:
    assert list(LoadWait(first=0.5, ceiling=4.0, limit_s=20.0).delays()) == [
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
        4.0,
        4.0,
    ]
    assert list(LoadWait(first=1.0, ceiling=1.0, limit_s=0.5).delays()) == []


async def test_a_reply_waits_for_the_model_and_then_arrives() -> None:
    with llama_cpp() as srv:
        srv.enqueue(LOADING_503, path=CHAT)
        srv.enqueue(LOADING_503, path=CHAT)
        srv.enqueue(Reply(text="ready now"), path=CHAT)
        async with client_for(Config(base_url=srv.base_url)) as client:
            session = ChatSession(client, model=MODEL)
            session.load_wait = QUICK
            reply = session.send("hi")
            waits = [e async for e in reply if isinstance(e, ServerLoading)]
        assert [(w.retry_in_s, w.done) for w in waits] == [
            (0.01, False),
            (0.02, False),
            (0.0, True),
        ]
        assert waits[-1].waited_s == pytest.approx(0.03)
        assert reply.entry.content == "ready now"
        assert reply.entry.state is EntryState.COMPLETE
        assert reply.entry.extras.server_wait is None
        assert len(srv.requests_to(CHAT)) == 3


async def test_past_the_limit_the_loading_error_is_shown_as_before() -> None:
    with llama_cpp() as srv:
        for _ in range(10):
            srv.enqueue(LOADING_503, path=CHAT)
        async with client_for(Config(base_url=srv.base_url)) as client:
            session = ChatSession(client, model=MODEL)
            session.load_wait = LoadWait(first=0.01, ceiling=0.01, limit_s=0.025)
            reply = session.send("hi")
            with pytest.raises(ModelLoading):
                async for _ in reply:
                    pass
        assert len(srv.requests_to(CHAT)) == 3  # the first try and two more
        assert reply.entry.state is EntryState.ERROR
        assert "loading" in (reply.entry.error or "").lower()


async def test_closing_the_reply_during_the_wait_stops_it_at_once() -> None:
    with llama_cpp() as srv:
        for _ in range(5):
            srv.enqueue(LOADING_503, path=CHAT)
        async with client_for(Config(base_url=srv.base_url)) as client:
            session = ChatSession(client, model=MODEL)
            session.load_wait = LoadWait(first=30.0, ceiling=30.0, limit_s=300.0)
            reply = session.send("hi")
            async for event in reply:
                assert isinstance(event, ServerLoading) or type(event).__name__ == "RouteReport"
                if isinstance(event, ServerLoading):
                    break
            await asyncio.wait_for(reply.aclose(), 5)  # not the 30 s wait
        assert reply.entry.state is EntryState.STOPPED
        assert reply.entry.content == ""
        assert len(srv.requests_to(CHAT)) == 1  # no try after the stop


async def test_the_app_shows_the_wait_in_the_reply_then_the_reply() -> None:
    with llama_cpp() as srv:
        srv.enqueue(LOADING_503, path=CHAT)
        srv.enqueue(Reply(text="here it is"), path=CHAT)
        app = LmtuiApp(Config(base_url=srv.base_url, model=MODEL), server_label="fake")
        async with app.run_test() as pilot:
            screen = app.chat_screen
            screen.session.load_wait = LoadWait(first=0.6, ceiling=0.6, limit_s=5.0)
            await pilot.press(*"hi", "enter")

            def waiting_line() -> str:
                lines = screen.query(ReplyProgress)
                return str(lines.first().render()) if lines else ""

            await wait_until(pilot, lambda: "The server is loading its model" in waiting_line())
            assert "again in 0.6 s" in waiting_line()
            assert "Esc cancels" in waiting_line()
            await wait_until(pilot, lambda: screen.session.entries[-1].content == "here it is")
            await wait_until(pilot, lambda: not screen.query(ReplyProgress).first().display)
            assert not [n for n in app._notifications if n.severity == "error"]


def test_ask_waits_for_the_model_too(tmp_path: Path) -> None:
    with llama_cpp() as srv:
        srv.enqueue(LOADING_503, path=CHAT)
        srv.enqueue(Reply(text="an answer"), path=CHAT)
        env = {**os.environ, "XDG_CONFIG_HOME": f"{tmp_path}/c", "XDG_DATA_HOME": f"{tmp_path}/d"}
        command = [sys.executable, "-m", "lmtui", "ask", "--base-url", srv.base_url]
        done = subprocess.run(
            [*command, "--model", MODEL, "--json", "hi"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["content"] == "an answer"
        assert len(srv.requests_to(CHAT)) == 2


async def test_esc_stops_the_wait_even_when_a_library_swallowed_the_cancel() -> None:
    """AnyIO can swallow a cancellation under httpx (its issue #1214): the loop must not go on."""
    tries: list[int] = []

    async def loading() -> AsyncGenerator[StreamEvent, None]:
        tries.append(1)
        raise ModelLoading("The server is still loading the model (HTTP 503).")
        yield  # an async generator, as the routed stream is

    async def swallowing_sleep(seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            return  # lost, as AnyIO lost it

    async def consume() -> None:
        policy = LoadWait(first=0.05, ceiling=0.05, limit_s=2.0)
        async for _ in waiting_for_load(loading, policy, sleep=swallowing_sleep):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.02)  # in the first wait
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert len(tries) == 1  # no new try after Esc
