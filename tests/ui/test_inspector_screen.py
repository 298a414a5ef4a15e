"""The request inspector screen: redacted JSON, copy-as snippets, entries and exchanges."""

from __future__ import annotations

import ast
import json
import shlex
from typing import Any

from textual.app import App
from textual.widgets import Static

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import ChatRequest, Message
from lmtui.services.chat import ChatSession
from lmtui.services.inspector import REDACTED, TOKEN_ENV, RequestLog
from lmtui.ui.inspector_screen import InspectorScreen
from tests.fake_server import FakeServer, Reply
from tests.ui.terminal_cells import parse_cells, render_screen

SECRET = "sk-very-secret-0123"
BASE = "http://127.0.0.1:1234"
BODY: dict[str, Any] = {
    "model": "qwen2.5-7b-instruct",
    "messages": [{"role": "user", "content": "Say hi"}],
    "temperature": 0.3,
    "api_key": SECRET,
    "stream": False,
}
ANSWER = {
    "model": "qwen2.5-7b-instruct",
    "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "echo": {"Authorization": f"Bearer {SECRET}"},
}


class Host(App[None]):
    """An empty app that shows one inspector."""

    def __init__(self, screen: InspectorScreen) -> None:
        super().__init__()
        self.inspector = screen

    def on_mount(self) -> None:
        self.push_screen(self.inspector)


def shown(app: App[Any]) -> str:
    """Every text the inspector shows, across all its tabs."""
    return "\n".join(str(w.content) for w in app.screen.query(Static))


async def test_sent_and_received_are_pretty_and_redacted() -> None:
    app = Host(InspectorScreen(BASE, BODY, ANSWER, with_token=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = shown(app)
        assert SECRET not in text and REDACTED in text
        sent = json.loads(str(app.screen.query_one("#text-sent", Static).content))
        assert sent == {**BODY, "api_key": REDACTED}
        received = json.loads(str(app.screen.query_one("#text-received", Static).content))
        assert received["choices"] == ANSWER["choices"]
        assert "POST http://127.0.0.1:1234/v1/chat/completions" in text
        assert SECRET not in app.export_screenshot()


async def test_copy_actions_set_the_clipboard_without_the_token() -> None:
    app = Host(InspectorScreen(BASE, BODY, ANSWER, with_token=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        curl = app.clipboard
        assert curl.startswith("curl ") and f"${TOKEN_ENV}" in curl
        words = shlex.split(curl.replace("\\\n", " "))
        assert json.loads(words[words.index("-d") + 1])["temperature"] == 0.3
        await pilot.press("p")
        python = app.clipboard
        ast.parse(python)
        assert "httpx.post" in python and f"os.environ['{TOKEN_ENV}']" in python
        await pilot.press("t")
        typescript = app.clipboard
        assert "await fetch('http://127.0.0.1:1234/v1/chat/completions'" in typescript
        assert f"process.env.{TOKEN_ENV}" in typescript
        await pilot.press("j")
        assert json.loads(app.clipboard)["model"] == "qwen2.5-7b-instruct"
        for copied in (curl, python, typescript, app.clipboard):
            assert SECRET not in copied


async def test_no_token_no_authorization_header() -> None:
    app = Host(InspectorScreen(BASE, BODY, ANSWER, with_token=False))
    async with app.run_test() as pilot:
        await pilot.press("c")
        assert "Authorization" not in app.clipboard


async def test_without_a_body_nothing_is_copied() -> None:
    app = Host(InspectorScreen(BASE, None, {"data": []}, with_token=False, method="GET"))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("c")
        assert app.clipboard == ""
        assert "GET http://127.0.0.1:1234/v1/models" in shown(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)


async def test_real_exchange_with_a_token_never_shows_it() -> None:
    token = "tok-NEVER-SHOW-42"
    log = RequestLog()
    with FakeServer(token=token) as srv:
        base_url = srv.base_url
        srv.enqueue(Reply(text="streamed answer"))
        async with LMStudioClient(srv.base_url, token, on_exchange=log.record) as client:
            request = ChatRequest("qwen2.5-7b-instruct", (Message("user", "hello"),))
            async for _ in client.stream_chat(request):
                pass
        assert srv.requests_to("/v1/chat/completions")[0].headers["authorization"].endswith(token)
    ex = log.last(1)[0]
    app = Host(InspectorScreen.for_exchange(base_url, ex, with_token=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        received = json.loads(str(app.screen.query_one("#text-received", Static).content))
        assert received["finish_reason"] == "stop" and received["stream"]["streamed"] is True
        sent = json.loads(str(app.screen.query_one("#text-sent", Static).content))
        assert sent == ex.request
        copies = []
        for key in "cptj":
            await pilot.press(key)
            copies.append(app.clipboard)
        assert all(token not in c for c in copies)
        assert token not in shown(app) and token not in app.export_screenshot()


async def test_for_entry_shows_the_assembled_reply() -> None:
    with FakeServer() as srv:
        base_url = srv.base_url
        srv.enqueue(Reply(text="assembled from deltas", reasoning=["think", "ing"]))
        async with LMStudioClient(srv.base_url) as client:
            session = ChatSession(client, model="qwen2.5-7b-instruct")
            async for _ in session.send("hello"):
                pass
            sent_on_wire = srv.requests_to("/v1/chat/completions")[0].json
    entry = session.entries[-1]
    app = Host(InspectorScreen.for_entry(base_url, entry, with_token=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        sent = json.loads(str(app.screen.query_one("#text-sent", Static).content))
        assert sent == sent_on_wire == entry.request_json
        received = json.loads(str(app.screen.query_one("#text-received", Static).content))
        assert received["content"] == "assembled from deltas"
        assert received["reasoning"] == "thinking"
        assert received["finish_reason"] == "stop" and received["state"] == "complete"
        assert received["model"] == "qwen2.5-7b-instruct"
        assert received["usage"]["completion_tokens"] > 0
        await pilot.press("c")
        words = shlex.split(app.clipboard.replace("\\\n", " "))
        assert "-N" in words  # the entry was streamed
        assert json.loads(words[words.index("-d") + 1]) == sent_on_wire


async def test_long_lines_wrap_instead_of_being_cut() -> None:
    long_prompt = "word " * 60 + "THE-END-OF-THE-PROMPT"
    body = {"model": "m", "messages": [{"role": "user", "content": long_prompt}]}
    app = Host(InspectorScreen(BASE, body, ANSWER, with_token=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = "".join(cell.char for cell in parse_cells(render_screen(app, "truecolor")))
        assert "THE-END-OF-THE-PROMPT" in shown
