"""The async client's stream (aiohttp) against the sync client's (httpx), on a hostile wire.

The async client reads its streamed replies over aiohttp (lmtui/backend/aio_stream.py);
the sync client, and every other request, still go over httpx. Whatever the server
does — cut, reset, stall, bad bytes, huge or broken answers, redirects, no answer, no
server at all — both must give the same events and the same typed error with the same
message: the aiohttp failures are mapped to what httpx meets, not guessed anew.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.sync_client import SyncClient
from lmtui.backend.types import (
    ChatRequest,
    ContentDelta,
    Finish,
    FinishReason,
    Message,
    SamplingParams,
)
from tests.backend.test_sync_client import _joined, _shape
from tests.fake_server import FakeServer, Reply
from tests.reliability.hostile_server import HostileServer, Request, models_or, response, silence

MODEL = "qwen2.5-7b-instruct"
REQUEST = ChatRequest(MODEL, (Message("user", "hi — ünï 日本"),), SamplingParams())
TOKEN = "sk-very-secret-token-1234"
TEXT = "a reply long enough to be cut in the middle of its words"

Outcome = tuple[list[Any], str | None]


async def _async_run(url: str, **options: Any) -> Outcome:
    async with LMStudioClient(url, **options) as client:
        events: list[Any] = []
        try:
            async for event in client.stream_chat(REQUEST):
                events.append(_shape(event))
        except LmtuiError as exc:
            return _joined(events), f"{type(exc).__name__}: {exc.message} | {exc.remedy}"
        return _joined(events), None


def _sync_run(url: str, **options: Any) -> Outcome:
    with SyncClient(url, **options) as client:
        events: list[Any] = []
        try:
            for event in client.stream_chat(REQUEST):
                events.append(_shape(event))
        except LmtuiError as exc:
            return _joined(events), f"{type(exc).__name__}: {exc.message} | {exc.remedy}"
        return _joined(events), None


async def _both(url: str, **options: Any) -> tuple[Outcome, Outcome]:
    # The sync client blocks: in a thread, so a server in this process keeps serving.
    # Bounded: a transport that hangs (aiohttp's C parser on a bad chunk once did) fails.
    got_async = await asyncio.wait_for(_async_run(url, **options), 60)
    got_sync = await asyncio.to_thread(_sync_run, url, **options)
    return got_async, got_sync


# ---- the fake LM Studio's faults ------------------------------------------------------

FAKE_FAULTS: dict[str, tuple[Reply, dict[str, Any]]] = {
    "reset mid reply": (Reply(text=TEXT, cut_after=3, cut_with_reset=True), {}),
    "cut before the first delta": (Reply(text=TEXT, cut_after=0), {}),
    "stall mid reply": (Reply(text=TEXT, stall_after=2, stall_seconds=5), {"read_timeout": 0.5}),
    "slow first token": (Reply(text=TEXT, first_token_delay=5), {"read_timeout": 0.5}),
    "invalid UTF-8": (Reply(text=TEXT, invalid_utf8_at=1), {}),
    "malformed SSE line": (Reply(text=TEXT, malformed_line_at=2), {}),
    "many deltas": (Reply(deltas=[f"w{i} " for i in range(3000)]), {}),
    "a huge error body": (Reply(status=500, body="x" * 1_100_000, content_type="text/plain"), {}),
    "401 with the token echoed": (
        Reply(status=401, body={"error": {"message": f"Invalid API key {TOKEN}"}}),
        {"token": TOKEN},
    ),
}


@pytest.mark.parametrize("name", sorted(FAKE_FAULTS))
async def test_a_fake_server_fault_reads_the_same_on_both_transports(
    fake_server: FakeServer, name: str
) -> None:
    reply, options = FAKE_FAULTS[name]
    fake_server.enqueue(reply)
    fake_server.enqueue(reply)
    got_async, got_sync = await _both(fake_server.base_url, **options)
    assert got_async == got_sync
    assert got_async[0] or got_async[1]
    assert TOKEN not in str(got_async)


def test_the_faults_read_as_lmtui_says() -> None:
    # What the parity above pins, for a few faults: not only equal, but right.
    with FakeServer() as srv:
        srv.enqueue(Reply(text=TEXT, cut_after=3, cut_with_reset=True))
        events, error = asyncio.run(_async_run(srv.base_url))
        assert error is None
        assert events[-1] == (Finish, FinishReason.INTERRUPTED, _CLOSED, 0)
        srv.enqueue(Reply(text=TEXT, stall_after=2, stall_seconds=5))
        events, error = asyncio.run(_async_run(srv.base_url, read_timeout=0.5))
        assert events[-1][2] == "no data from the server for 0.5 s"


_CLOSED = "the server closed the connection mid-reply"


# ---- a server broken at the HTTP level ------------------------------------------------

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
DELTA = b'data: {"choices":[{"index":0,"delta":{"content":"hi "}}]}\n\n'


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _closes_at_once(req: Request) -> Iterable[bytes]:
    return []


def _garbage(req: Request) -> Iterable[bytes]:
    return [b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]


def _incomplete_chunk(req: Request) -> Iterable[bytes]:
    return [HEAD + _chunk(DELTA) + b"ff\r\n" + DELTA]


def _bad_chunk_size(req: Request) -> Iterator[bytes]:
    yield HEAD + _chunk(DELTA)
    time.sleep(0.2)  # its own packet: both parsers hand on the delta before the bad chunk
    yield b"zz\r\n" + DELTA


def _short_body(req: Request) -> Iterable[bytes]:
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"]


def _redirect(req: Request) -> Iterable[bytes]:
    return response(307, b"", headers={"Location": "https://u:secret@login.invalid/v1"})


def _not_a_stream(req: Request) -> Iterable[bytes]:
    return response(200, "<html>hello</html>", content_type="text/html")


def _html_then_close(req: Request) -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + DELTA
    yield b'data: {"choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}\n\n'


HOSTILE: dict[str, Callable[[Request], Iterable[bytes]]] = {
    "closes without an answer": _closes_at_once,
    "answers with something that is not HTTP": _garbage,
    "a chunked body cut inside a chunk": _incomplete_chunk,
    "a bad chunk size": _bad_chunk_size,
    "a body shorter than its Content-Length": _short_body,
    "a redirect": _redirect,
    "a web page, not a stream": _not_a_stream,
    "an unframed stream ended by close": _html_then_close,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_a_broken_server_reads_the_same_on_both_transports(name: str) -> None:
    with HostileServer(models_or(HOSTILE[name])) as srv:
        got_async, got_sync = await _both(srv.base_url)
    assert got_async == got_sync
    assert got_async[0] or got_async[1]
    assert "secret" not in str(got_async)


async def test_no_answer_in_time_is_the_same_error() -> None:
    with HostileServer(models_or(lambda req: silence(srv.stop, 5))) as srv:
        got_async, got_sync = await _both(srv.base_url, read_timeout=0.5)
    assert got_async == got_sync
    assert got_async[1] is not None and "sent no answer within 0.5 s" in got_async[1]


# ---- no server --------------------------------------------------------------------------


async def test_a_closed_port_is_the_same_error(closed_port: int) -> None:
    got_async, got_sync = await _both(f"http://127.0.0.1:{closed_port}", connect_timeout=2)
    assert got_async == got_sync
    assert got_async[1] is not None and "refused the connection" in got_async[1]


async def test_an_unknown_host_is_the_same_error() -> None:
    got_async, got_sync = await _both("http://no-such-host.invalid:1234", connect_timeout=5)
    assert got_async == got_sync
    assert got_async[1] is not None and got_async[1].startswith("ServerUnreachable")


async def test_a_connect_timeout_is_the_same_error() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    # hangs until the client's connect timeout.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        try:
            got_async, got_sync = await _both(f"http://127.0.0.1:{port}", connect_timeout=0.3)
        finally:
            for s in fillers:
                s.close()
    assert got_async == got_sync
    assert got_async[1] is not None and "did not answer in time" in got_async[1]


# ---- the connection's life ------------------------------------------------------------


async def test_a_stopped_stream_drops_its_connection(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(deltas=[f"w{i} " for i in range(200)], delta_delay=0.05))
    async with LMStudioClient(fake_server.base_url) as client:
        stream = client.stream_chat(REQUEST)
        async for event in stream:
            if isinstance(event, ContentDelta):
                break
        await stream.aclose()  # Esc
        first = fake_server.requests_to("/v1/chat/completions")[-1]
        # The server's next writes fail: the reader hung up rather than left it streaming.
        assert await asyncio.to_thread(first.done.wait, 10)
        assert first.client_gone
        # The next reply comes on a new connection, not on the half-read one.
        events = [e async for e in client.stream_chat(REQUEST)]
        second = fake_server.requests_to("/v1/chat/completions")[-1]
    assert isinstance(events[-1], Finish) and events[-1].reason.value == "stop"
    assert second.peer != first.peer


async def test_a_finished_stream_leaves_its_connection_for_the_next(
    fake_server: FakeServer,
) -> None:
    async with LMStudioClient(fake_server.base_url) as client:
        for _ in range(2):
            assert [e async for e in client.stream_chat(REQUEST)][-1].reason.value == "stop"  # type: ignore[union-attr]
    first, second = fake_server.requests_to("/v1/chat/completions")[-2:]
    assert second.peer == first.peer


async def test_aclose_closes_the_stream_session(fake_server: FakeServer) -> None:
    client = LMStudioClient(fake_server.base_url)
    assert client._streams is None  # no session before the first stream
    [e async for e in client.stream_chat(REQUEST)]
    streams = client._streams
    assert streams is not None
    session = streams.session()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await client.aclose()
        del client, streams
        gc.collect()
    assert session.closed
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize(
    ("userinfo", "token"),
    [("", None), ("", TOKEN), ("alice:pa%3Ass@", None), ("alice:pa%3Ass@", TOKEN)],
)
async def test_both_transports_send_the_same_request(userinfo: str, token: str | None) -> None:
    with HostileServer(models_or(_closes_at_once)) as srv:
        url = srv.base_url.replace("http://", "http://" + userinfo)
        await _both(url, token=token)
    sent = [r for r in srv.requests if r.method == "POST"]
    assert len(sent) == 2
    fields = ("authorization", "accept", "content-type", "content-length")
    assert [sent[0].headers.get(f) for f in fields] == [sent[1].headers.get(f) for f in fields]
    assert sent[0].body == sent[1].body  # byte for byte: the JSON encoded as httpx does
    if userinfo:
        assert sent[0].headers["authorization"].startswith("Basic ")
    elif token:
        assert sent[0].headers["authorization"] == f"Bearer {TOKEN}"


def _stream_of_one_word(req: Request) -> Iterable[bytes]:
    body = DELTA + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    body += b"data: [DONE]\n\n"
    return response(200, body, content_type="text/event-stream")


async def test_a_proxy_from_the_environment_carries_both(monkeypatch: pytest.MonkeyPatch) -> None:
    server = "http://lmstudio.invalid:1234"  # reachable only through the proxy
    with HostileServer(_stream_of_one_word) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        got_async, got_sync = await _both(server)
    assert got_async == got_sync
    assert got_async[1] is None and ContentDelta("hi ") in got_async[0]
    assert [r.path for r in proxy.requests] == [server + "/v1/chat/completions"] * 2


async def test_no_proxy_bypasses_it_for_both(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer(_stream_of_one_word) as srv, HostileServer(_closes_at_once) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        got_async, got_sync = await _both(srv.base_url)
    assert got_async == got_sync
    assert got_async[1] is None
    assert proxy.requests == []


async def test_a_netrc_entry_does_not_replace_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login mallory password stolen\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    with HostileServer(_stream_of_one_word) as srv:
        await _both(srv.base_url, token=TOKEN)
    assert [r.headers["authorization"] for r in srv.requests] == [f"Bearer {TOKEN}"] * 2


def test_a_reset_connection_leaves_nothing_for_asyncio_to_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A reset sets the connection's "closed" future to an error: once looked at, asyncio
    # does not log "Future exception was never retrieved" (onto the TUI's screen) later.
    with FakeServer() as srv:
        srv.enqueue(Reply(text=TEXT, cut_after=3, cut_with_reset=True))
        events, error = asyncio.run(_async_run(srv.base_url))
        gc.collect()
    assert error is None and events[-1][2] == _CLOSED
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


async def test_a_pooled_connection_the_server_closed_is_not_used() -> None:
    # The server restarts between two replies while the loop is busy (here: blocked),
    # so the loop has not yet seen the pooled connection close. httpx looks before it
    # reuses one; so must the aiohttp stream, or the reply fails "before replying".
    first = FakeServer().start()
    port = first.port
    async with LMStudioClient(first.base_url) as client:
        try:
            assert [e async for e in client.stream_chat(REQUEST)][-1].reason.value == "stop"  # type: ignore[union-attr]
        finally:
            first.close()  # blocks the loop: the close is not seen before the next request
        with FakeServer(port=port) as second:
            second.enqueue(Reply(text="after the restart"))
            events = [e async for e in client.stream_chat(REQUEST)]
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "after the restart"
