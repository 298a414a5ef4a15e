"""The troubleshooting panel against the fake server: health, findings, requests, polling."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from lmtui.backend.client import Exchange, LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ChatRequest, Message, Usage
from lmtui.services.inspector import RequestLog
from lmtui.ui.inspector_screen import InspectorScreen
from lmtui.ui.troubleshoot import TroubleshootScreen
from tests.fake_models_admin import set_jit
from tests.fake_server import CONTEXT_OVERFLOW_LLAMACPP, FakeServer, Reply, model_not_found_body
from tests.ui.conftest import wait_until

MODEL = "qwen2.5-7b-instruct"


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Host(App[None]):
    """An empty app that opens the panel, as the chat app does."""

    def __init__(self, panel: TroubleshootScreen) -> None:
        super().__init__()
        self.panel = panel

    def on_mount(self) -> None:
        self.push_screen(self.panel)


def text_of(screen: TroubleshootScreen, selector: str) -> str:
    return "\n".join(str(w.content) for w in screen.query(selector).results(Static))


def finding_ids(screen: TroubleshootScreen) -> list[str]:
    return [f.id for f in screen.findings]


async def checked(pilot: Pilot[Any], screen: TroubleshootScreen, count: int = 1) -> None:
    await wait_until(pilot, lambda: screen.checks >= count and not screen.checking)
    await pilot.pause()


@pytest.fixture
def log() -> RequestLog:
    return RequestLog()


@pytest.fixture
async def client(fake_server: FakeServer, log: RequestLog) -> AsyncIterator[LMStudioClient]:
    async with LMStudioClient(fake_server.base_url, on_exchange=log.record) as c:
        yield c


async def chat(client: LMStudioClient, model: str = MODEL) -> None:
    async for _ in client.stream_chat(ChatRequest(model, (Message("user", "hello there"),))):
        pass


async def test_healthy_panel(client: LMStudioClient, log: RequestLog) -> None:
    screen = TroubleshootScreen(client, log, model=MODEL)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot, screen)
        health = text_of(screen, "#ts-health")
        assert client.base_url in health and "reachable · round trip" in health
        assert "LM Studio · APIs /api/v1, /api/v0, /v1" in health
        models = text_of(screen, "#ts-models")
        assert f"{MODEL}  (llm, context 8192)" in models
        assert "nomic" in models and "deepseek" not in models  # only loaded ones
        assert {"reachable", "models_loaded"} <= set(finding_ids(screen))
        assert "✓ Server answers" in text_of(screen, "#ts-findings Static")
        assert screen.query_one("#ts-no-requests").display
        assert not screen.query_one("#ts-requests").display


async def test_unreachable_panel() -> None:
    url = closed_port_url()
    async with LMStudioClient(url, connect_timeout=2) as client:
        screen = TroubleshootScreen(client, RequestLog())
        app = Host(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await checked(pilot, screen)
            assert "Status   unreachable" in text_of(screen, "#ts-health")
            assert finding_ids(screen) == ["unreachable"]
            finding = text_of(screen, "#ts-findings Static")
            assert f"✗ Cannot reach the server at {url}" in finding
            assert "→ Start LM Studio's server" in finding
            assert screen.query_one(".ts-finding").has_class("-error")


async def test_requests_table_and_exchange_findings(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(text="short", finish_reason="length"))
    await chat(client)
    fake_server.enqueue(CONTEXT_OVERFLOW_LLAMACPP)
    with pytest.raises(LmtuiError):
        await chat(client)
    screen = TroubleshootScreen(client, log, model=MODEL)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot, screen)
        table = screen.query_one("#ts-requests", DataTable)
        assert table.display and table.row_count == 2
        newest = [str(c) for c in table.get_row_at(0)]
        assert newest[3] == "400" and "does not fit" in newest[8]
        oldest = [str(c) for c in table.get_row_at(1)]
        assert oldest[1] == MODEL and oldest[3] == "200" and oldest[7] == "length"
        assert {"truncated", "context_overflow"} <= set(finding_ids(screen))
        findings = text_of(screen, "#ts-findings Static")
        assert "prompt 2031 tokens, loaded context 512 tokens" in findings
        assert f"lms load {MODEL} --context-length 4096" in findings


async def test_enter_on_a_row_opens_the_inspector(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    await chat(client)
    screen = TroubleshootScreen(client, log)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot, screen)
        table = screen.query_one("#ts-requests", DataTable)
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        assert inspector.request == log.last(1)[0].request
        assert inspector.path == "/v1/chat/completions"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)


async def test_checks_on_demand(fake_server: FakeServer, client: LMStudioClient) -> None:
    screen = TroubleshootScreen(client, RequestLog())
    app = Host(screen)
    async with app.run_test() as pilot:
        await checked(pilot, screen)
        set_jit(fake_server, False)
        for model in fake_server.models:
            model.loaded = False
        await pilot.press("r")
        await checked(pilot, screen, 2)
        assert "no_model_loaded" in finding_ids(screen)
        assert "lms load" in text_of(screen, "#ts-findings Static")


async def test_polls_only_while_shown(fake_server: FakeServer, client: LMStudioClient) -> None:
    screen = TroubleshootScreen(client, RequestLog(), refresh_every=0.02)
    app = Host(screen)

    def probes() -> int:
        return len(fake_server.requests_to("/api/v1/models"))

    def checks_done(count: int) -> Callable[[], bool]:
        return lambda: screen.checks >= count and not screen.checking

    # Waits on the counts alone: while it polls every 20 ms the app never idles, so a
    # wait for idle (checked()'s pilot.pause()) would run to its 1 s limit each time.
    async with app.run_test() as pilot:
        await wait_until(pilot, checks_done(3))  # the timer re-checked while open
        assert screen.polling
        app.push_screen(InspectorScreen("http://x", None, None, with_token=False))
        await wait_until(pilot, lambda: not screen.polling)
        await wait_until(pilot, lambda: not screen.checking)
        covered = screen.checks
        await pilot.pause(0.2)  # ten intervals with the panel covered
        assert screen.checks == covered
        app.pop_screen()
        await wait_until(pilot, lambda: screen.polling)
        await wait_until(pilot, checks_done(covered + 1))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen)
        assert not screen.polling
        await pilot.pause(0.05)
        closed = probes()
        await pilot.pause(0.2)  # ten intervals after closing
        assert probes() == closed


async def test_a_hung_server_does_not_freeze_the_panel(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    # The model listing stalls (the fake ends the wait when it shuts down).
    fake_server.enqueue(Reply(first_token_delay=30), path="/api/v1/models")
    screen = TroubleshootScreen(client, RequestLog())
    app = Host(screen)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: screen.checking)
        await pilot.pause()
        assert "Status   checking…" in text_of(screen, "#ts-health")
        await pilot.press("r")  # ignored while a check runs: no second probe piles up
        await pilot.pause()
        assert len(fake_server.requests_to("/api/v1/models")) == 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen)
        assert screen.checks == 0


async def test_token_is_detected_for_the_inspector(fake_server: FakeServer) -> None:
    async with LMStudioClient(fake_server.base_url, "tok") as with_token:
        assert TroubleshootScreen(with_token, RequestLog()).with_token
    async with LMStudioClient(fake_server.base_url) as without:
        assert not TroubleshootScreen(without, RequestLog()).with_token
        assert TroubleshootScreen(without, RequestLog(), with_token=True).with_token


# ---- snapshots ----------------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Request times render in UTC, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fixed_log() -> RequestLog:
    """Three past requests with fixed numbers, so the picture is stable."""
    log = RequestLog()
    ok = Exchange("POST", "/v1/chat/completions", {"model": MODEL}, 1_700_000_000.0)
    ok.status, ok.model_requested, ok.model_used = 200, MODEL, MODEL
    ok.finish_reason, ok.ttft_s, ok.tokens_per_second = "stop", 0.123, 42.5
    ok.usage = Usage(12, 80, 92)
    cut = Exchange("POST", "/v1/chat/completions", {"model": MODEL}, 1_700_000_060.0)
    cut.status, cut.model_requested, cut.model_used = 200, "any-model", MODEL
    cut.finish_reason, cut.ttft_s, cut.tokens_per_second = "length", 0.2, 3.2
    cut.usage = Usage(12, 16, 28)
    bad = Exchange("POST", "/v1/chat/completions", {"model": "nope"}, 1_700_000_120.0)
    bad.status, bad.model_requested = 404, "nope"
    bad.response = model_not_found_body("nope")
    bad.error = "The server has no model 'nope'."
    for ex in (ok, cut, bad):
        log.record(ex)
    return log


@pytest.mark.parametrize("part", ["top", "requests"])
def test_snapshot_healthy(snap_compare: Any, fake_server: FakeServer, utc: None, part: str) -> None:
    client = LMStudioClient(fake_server.base_url)
    screen = TroubleshootScreen(
        client, fixed_log(), model=MODEL, server_label="fake-server", stable=True
    )

    async def settle(pilot: Pilot[Any]) -> None:
        await checked(pilot, screen)
        await client.aclose()
        if part == "requests":
            await pilot.press("tab")  # focus the table: the panel scrolls to it
            await pilot.pause()

    assert snap_compare(Host(screen), terminal_size=(80, 24), run_before=settle)


def test_snapshot_unreachable(snap_compare: Any, utc: None) -> None:
    client = LMStudioClient(closed_port_url(), connect_timeout=2)
    screen = TroubleshootScreen(
        client, RequestLog(), server_label="unreachable-server", stable=True
    )

    async def settle(pilot: Pilot[Any]) -> None:
        await checked(pilot, screen)
        await client.aclose()

    assert snap_compare(Host(screen), terminal_size=(80, 24), run_before=settle)
