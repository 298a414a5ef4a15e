"""A hostile or broken server at the HTTP level: lmtui says what happened, reads a bounded
amount, follows nothing, and never shows credentials or a token."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable
from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import (
    REDACTED,
    MalformedResponse,
    ModelLoading,
    ServerError,
    ServerUnreachable,
)
from lmtui.backend.types import ChatRequest, Message
from tests.conftest import RunLmtui
from tests.reliability.hostile_server import (
    HostileServer,
    Request,
    endless,
    models_or,
    response,
    silence,
)

MODEL = "m"


def chat() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message("user", "hi"),))


async def drain(client: LMStudioClient) -> None:
    async for _ in client.stream_chat(chat()):
        pass


def test_a_redirect_is_reported_with_its_target_and_not_followed(run_lmtui: RunLmtui) -> None:
    def handle(req: Request) -> Iterable[bytes]:
        return response(302, b"", headers={"Location": "http://elsewhere.invalid:9/v1/x"})

    with HostileServer(models_or(handle)) as srv:
        done = run_lmtui("--base-url", srv.base_url, "-m", MODEL, "ask", "hi")
    assert done.returncode == 10, done.stderr
    first = done.stderr.splitlines()[0]
    assert "redirected /v1/chat/completions to http://elsewhere.invalid:9/v1/x" in first
    assert "context" not in done.stderr and "Traceback" not in done.stderr
    assert [r.path for r in srv.requests].count("/v1/chat/completions") == 1


async def test_a_redirect_on_every_path_is_a_redirect_not_a_wrong_server() -> None:
    def handle(req: Request) -> Iterable[bytes]:
        return response(307, b"", headers={"Location": "https://u:secret@login.invalid/"})

    with HostileServer(handle) as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(ServerError) as info:
                await client.list_models()
    assert "redirected" in info.value.message
    assert "https://login.invalid/" in info.value.message
    assert "secret" not in info.value.message


async def test_no_response_headers_in_time_is_not_unreachable() -> None:
    with HostileServer(models_or(lambda req: silence(srv.stop))) as srv:
        async with LMStudioClient(srv.base_url, read_timeout=0.5) as client:
            await client.list_models()  # it answered: the server is there
            with pytest.raises(ServerError) as info:
                await drain(client)
    assert not isinstance(info.value, ServerUnreachable)
    assert "accepted the request but sent no answer within 0.5 s" in info.value.message


async def test_a_huge_non_streamed_body_is_read_only_up_to_the_bound() -> None:
    chunk = b"<html>" + b"x" * 65530

    def handle(req: Request) -> Iterable[bytes]:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        yield head
        yield from endless(chunk, srv.stop)

    with HostileServer(models_or(handle)) as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(MalformedResponse) as info:
                await client.chat(chat())
            with pytest.raises(MalformedResponse):
                await drain(client)
    assert "larger than 64 MB" in info.value.message
    # The socket buffers let a little more through than was read, never the whole page.
    assert all(n < 80 * 1_048_576 for n in srv.sent[1:])


def test_loading_model_503_on_models_is_the_model_loading_error(run_lmtui: RunLmtui) -> None:
    body = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    with HostileServer(lambda req: response(503, body)) as srv:
        done = run_lmtui("--base-url", srv.base_url, "models")
    assert done.returncode == ModelLoading.exit_code
    assert "still loading the model" in done.stderr
    assert "not an OpenAI-compatible" not in done.stderr


async def test_an_echoed_token_is_redacted_before_the_message_is_cut() -> None:
    token = "sk-lm-" + secrets.token_hex(16)
    # The token straddles the 200-character cut of the summary line.
    message = "y" * 180 + f" Bearer {token} " + "z" * 300
    with HostileServer(models_or(lambda req: response(500, {"error": message}))) as srv:
        async with LMStudioClient(srv.base_url, token) as client:
            with pytest.raises(ServerError) as info:
                await client.chat(chat())
    err = info.value
    for text in (err.message, err.server_message or ""):
        assert token[:12] not in text and token[-8:] not in text
    assert REDACTED in err.message or "Bearer" not in err.message


async def test_credentials_in_the_url_go_on_the_wire_and_nowhere_else() -> None:
    with HostileServer(lambda req: response(500, {"error": "boom"})) as srv:
        url = srv.base_url.replace("http://", "http://alice:pa%3Ass@")
        async with LMStudioClient(url) as client:
            assert client.base_url == srv.base_url
            with pytest.raises(ServerError) as info:
                await client.chat(chat())
    auth = srv.requests[0].headers["authorization"]
    assert auth == "Basic " + base64.b64encode(b"alice:pa:ss").decode()
    assert "alice" not in info.value.message and "pa:ss" not in info.value.message


def test_credentials_in_the_base_url_reach_no_output_and_no_stored_field(
    run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    from lmtui.store.history import HistoryStore

    with HostileServer(models_or(lambda req: stream_reply())) as srv:
        url = srv.base_url.replace("http://", "http://alice:pa55word@")
        outputs = [
            run_lmtui("--base-url", url, "-m", MODEL, "ask", "hi"),
            run_lmtui("--base-url", url, "models", "--json"),
            run_lmtui("--base-url", url, "doctor"),
            run_lmtui("--base-url", url, "servers"),
            run_lmtui("history", "export", "--format", "json"),
        ]
    for done in outputs:
        assert "pa55word" not in done.stdout + done.stderr, done.stdout + done.stderr
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    assert conv.server == srv.base_url
    assert all("pa55word" not in (m.server or "") for m in messages)


def stream_reply() -> Iterable[bytes]:
    chunk = {"id": "c", "model": MODEL, "choices": [{"index": 0, "delta": {"content": "ok"}}]}
    done = {
        "id": "c",
        "model": MODEL,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in (chunk, done))
    return response(200, body + b"data: [DONE]\n\n", content_type="text/event-stream")


def test_the_history_store_strips_credentials_from_every_server_field() -> None:
    from lmtui.store.history import HistoryStore

    url = "http://bob:hunter2@gpu-box:1234"
    with HistoryStore() as store:
        cid = store.create_conversation("t", server=url)
        store.add_message(cid, "assistant", "x", server=url)
        summary, messages = store.get_conversation(cid)
    assert summary.server == "http://gpu-box:1234"
    assert [m.server for m in messages] == ["http://gpu-box:1234"]
