"""Doctor findings from real HTTP: the fake server's scripted faults, each mapped to a remedy."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ChatRequest, Message
from lmtui.services.doctor import Finding, diagnose, exchange_findings
from lmtui.services.inspector import RequestLog
from tests.fake_models_admin import set_jit
from tests.fake_server import (
    CONTEXT_OVERFLOW_LLAMACPP,
    CONTEXT_OVERFLOW_LMSTUDIO,
    CONTEXT_OVERFLOW_LMSTUDIO_200,
    MODEL_NOT_FOUND,
    NO_MODELS_LOADED,
    NO_MODELS_LOADED_FLAT,
    FakeServer,
    Reply,
)

MODEL = "qwen2.5-7b-instruct"


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def by_id(findings: list[Finding], fid: str) -> Finding:
    found = [f for f in findings if f.id == fid]
    assert found, f"no {fid!r} finding in {[f.id for f in findings]}"
    return found[0]


@pytest.fixture
def log() -> RequestLog:
    return RequestLog()


@pytest.fixture
async def client(fake_server: FakeServer, log: RequestLog) -> AsyncIterator[LMStudioClient]:
    async with LMStudioClient(fake_server.base_url, on_exchange=log.record) as c:
        yield c


async def chat(client: LMStudioClient, model: str = MODEL) -> None:
    """Stream one reply to the end (typed errors propagate)."""
    request = ChatRequest(model, (Message("user", "hello there"),))
    async for _ in client.stream_chat(request):
        pass


async def test_healthy_server_has_only_good_findings(client: LMStudioClient) -> None:
    diag = await diagnose(client, model=MODEL)
    assert diag.healthy
    assert {"reachable", "models_loaded"} <= {f.id for f in diag.findings}
    data = diag.to_json()
    assert data["reachable"] is True and data["server_kind"] == "lmstudio"
    assert data["api_levels"] == ["api/v1", "api/v0", "v1"]


async def test_refused_connection_is_unreachable() -> None:
    async with LMStudioClient(closed_port_url(), connect_timeout=2) as c:
        diag = await diagnose(c)
    f = by_id(diag.findings, "unreachable")
    assert f.severity == "error" and "refused" in f.detail
    assert "lms server start" in f.remedy
    assert not diag.healthy and diag.to_json()["reachable"] is False


async def test_no_models_loaded_says_how_to_load(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    set_jit(fake_server, False)
    for m in fake_server.models:
        m.loaded = False
    diag = await diagnose(client)
    f = by_id(diag.findings, "no_model_loaded")
    assert f.severity == "error" and "lms load" in f.remedy and "Just-in-Time" in f.remedy
    assert not diag.healthy and diag.jit == "off"


async def test_jit_on_and_nothing_loaded_is_healthy(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    for m in fake_server.models:
        m.loaded = False
    diag = await diagnose(client)
    f = by_id(diag.findings, "jit_will_load")
    assert f.severity == "info" and "first use" in f.title
    assert diag.healthy and diag.jit == "on"


async def test_jit_off_with_a_model_loaded_is_said(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    set_jit(fake_server, False)
    diag = await diagnose(client)
    assert by_id(diag.findings, "jit_off").severity == "info"
    assert diag.healthy


@pytest.mark.parametrize("reply", [NO_MODELS_LOADED, NO_MODELS_LOADED_FLAT])
async def test_no_models_loaded_error_on_a_request(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog, reply: Reply
) -> None:
    fake_server.enqueue(reply)
    with pytest.raises(LmtuiError):
        await chat(client)
    f = by_id(exchange_findings(log), "no_model_loaded")
    assert "lms load" in f.remedy and "No models loaded" in f.detail


async def test_wanted_model_missing_lists_the_models(client: LMStudioClient) -> None:
    diag = await diagnose(client, model="llama-9000")
    f = by_id(diag.findings, "model_not_found")
    assert "llama-9000" in f.title
    assert MODEL in f.detail and "qwen/qwen2.5-vl-7b" in f.detail


async def test_model_not_found_on_a_request_lists_the_models(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(MODEL_NOT_FOUND)
    with pytest.raises(LmtuiError):
        await chat(client, model="x")
    models = await client.list_models()
    f = by_id(exchange_findings(log, models=models), "model_not_found")
    assert MODEL in f.detail and "lmtui models" in f.remedy


async def test_slow_replies(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    # One token over at least 0.3 s between the first and last delta: below 5 tokens/s
    # however fast the machine is.
    usage = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    fake_server.enqueue(Reply(deltas=["slow", " reply"], delta_delay=0.3, usage=usage))
    await chat(client)
    f = by_id(exchange_findings(log), "slow")
    assert f.severity == "warn" and "tokens/s" in f.title and "smaller model" in f.remedy


async def test_fast_replies_are_not_slow(client: LMStudioClient, log: RequestLog) -> None:
    await chat(client)
    assert log.last(1)[0].finish_reason == "stop"
    assert "slow" not in {f.id for f in exchange_findings(log)}


async def test_length_finish_is_truncated(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(text="cut short", finish_reason="length"))
    await chat(client)
    f = by_id(exchange_findings(log), "truncated")
    assert "max_tokens" in f.remedy and MODEL in f.detail


@pytest.mark.parametrize(
    ("reply", "prompt", "context", "suggested"),
    [
        (CONTEXT_OVERFLOW_LLAMACPP, 2031, 512, 4096),
        (CONTEXT_OVERFLOW_LMSTUDIO, 4312, 4096, 8192),
        (CONTEXT_OVERFLOW_LMSTUDIO_200, 4312, 4096, 8192),
    ],
)
async def test_context_overflow_gives_sizes_and_a_reload_remedy(
    fake_server: FakeServer,
    client: LMStudioClient,
    log: RequestLog,
    reply: Reply,
    prompt: int,
    context: int,
    suggested: int,
) -> None:
    fake_server.enqueue(reply)
    with pytest.raises(LmtuiError) as info:
        await chat(client)
    assert info.value.kind == "context_overflow"
    f = by_id(exchange_findings(log), "context_overflow")
    assert f"prompt {prompt} tokens" in f.detail
    assert f"loaded context {context} tokens" in f.detail
    assert f"lms load {MODEL} --context-length {suggested}" in f.remedy


async def test_overflow_without_sizes_uses_the_loaded_context(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(status=400, body={"error": "context length exceeded"}))
    with pytest.raises(LmtuiError):
        await chat(client)
    models = await client.list_models()
    f = by_id(exchange_findings(log, models=models), "context_overflow")
    assert "loaded context 8192 tokens" in f.detail
    assert "--context-length N" in f.remedy


async def test_empty_stream_points_at_the_context(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(empty_200=True))
    with pytest.raises(LmtuiError):
        await chat(client)
    f = by_id(exchange_findings(log), "empty_reply")
    assert "context" in f.remedy


async def test_auth_required_without_a_token() -> None:
    with FakeServer(token="s3cret-token") as srv:
        async with LMStudioClient(srv.base_url) as c:
            diag = await diagnose(c)
        f = by_id(diag.findings, "auth")
        assert f.severity == "error" and "LMTUI_API_TOKEN" in f.remedy
        assert "unreachable" not in {x.id for x in diag.findings}
        async with LMStudioClient(srv.base_url, "s3cret-token") as c:
            assert (await diagnose(c)).healthy


async def test_auth_refused_on_a_request() -> None:
    log = RequestLog()
    with FakeServer(token="s3cret-token") as srv:
        async with LMStudioClient(srv.base_url, "wrong", on_exchange=log.record) as c:
            with pytest.raises(LmtuiError):
                await chat(c)
    f = by_id(exchange_findings(log), "auth")
    assert "LMTUI_API_TOKEN" in f.remedy
    assert "s3cret-token" not in repr(exchange_findings(log))


async def test_out_of_memory_500(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    body = {"error": "Failed to load model: CUDA error: out of memory"}
    fake_server.enqueue(Reply(status=500, body=body))
    with pytest.raises(LmtuiError):
        await chat(client)
    f = by_id(exchange_findings(log), "out_of_memory")
    assert "lms unload" in f.remedy and "out of memory" in f.detail


async def test_out_of_memory_inside_the_stream(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    chunk = {"error": {"message": "ggml: out of memory allocating KV cache"}}
    fake_server.enqueue(Reply(text="partial answer", error_chunk_at=2, error_chunk=chunk))
    with pytest.raises(LmtuiError):
        await chat(client)
    assert "out_of_memory" in {f.id for f in exchange_findings(log)}


async def test_cut_stream_is_interrupted_not_an_error(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(text="a longer answer that is cut", cut_after=2))
    await chat(client)
    ex = log.last(1)[0]
    assert ex.finish_reason == "interrupted" and ex.error is None
    assert exchange_findings(log) == []


async def test_each_finding_once_newest_first(
    fake_server: FakeServer, client: LMStudioClient, log: RequestLog
) -> None:
    fake_server.enqueue(Reply(text="one", finish_reason="length"))
    fake_server.enqueue(Reply(text="two", finish_reason="length"))
    fake_server.enqueue(NO_MODELS_LOADED)
    for _ in range(2):
        await chat(client)
    with pytest.raises(LmtuiError):
        await chat(client)
    ids = [f.id for f in exchange_findings(log)]
    assert ids == ["no_model_loaded", "truncated"]
