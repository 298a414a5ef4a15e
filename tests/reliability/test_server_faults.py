"""Server faults the client must survive: restarts, and error bodies of every shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import (
    AuthRequired,
    LmtuiError,
    NotSupported,
    ServerError,
    ServerUnreachable,
)
from lmtui.backend.types import (
    ChatRequest,
    ContentDelta,
    Finish,
    FinishReason,
    Message,
    SamplingParams,
    StreamEvent,
)
from lmtui.services.local_server import LocalServer
from tests.fake_server import FakeServer, Reply
from tests.integration.helpers import pid_alive

MODEL = "qwen2.5-7b-instruct"


def chat(model: str = MODEL, text: str = "hello there") -> ChatRequest:
    """A one-message chat request."""
    return ChatRequest(model, (Message("user", text),), SamplingParams(max_tokens=8))


async def collect(client: LMStudioClient, request: ChatRequest) -> tuple[str, Finish]:
    """Stream a chat and return its text and the final event."""
    text = ""
    events: list[StreamEvent] = []
    async for event in client.stream_chat(request):
        events.append(event)
        if isinstance(event, ContentDelta):
            text += event.text
    last = events[-1]
    assert isinstance(last, Finish)
    return text, last


async def test_a_new_server_on_the_same_port_is_used_by_the_same_client() -> None:
    first = FakeServer().start()
    port = first.port
    client = LMStudioClient(first.base_url)
    try:
        first.enqueue(Reply(text="before the crash", cut_after=2))
        text, finish = await collect(client, chat())
        assert (text, finish.reason) == ("before t", FinishReason.INTERRUPTED)
        first.close()  # the server dies, its keep-alive connections with it
        with pytest.raises(ServerUnreachable):
            await collect(client, chat())
        with FakeServer(port=port) as second:
            second.enqueue(Reply(text="after the restart"))
            text, finish = await collect(client, chat())
            assert (text, finish.reason) == ("after the restart", FinishReason.STOP)
            assert len(second.requests_to("/v1/chat/completions")) == 1
    finally:
        first.close()
        await client.aclose()


@pytest.mark.real_server
async def test_real_server_restarted_on_the_same_port_serves_the_same_client(
    smollm_path: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    server = LocalServer.start(smollm_path, context_length=256, parallel=1, log_path=log)
    client = LMStudioClient(server.base_url)
    again: LocalServer | None = None
    try:
        text, finish = await collect(client, chat(server.model_id))
        assert text and finish.reason in (FinishReason.STOP, FinishReason.LENGTH)
        port = int(server.base_url.rsplit(":", 1)[1])
        server.stop()
        with pytest.raises(ServerUnreachable):
            await collect(client, chat(server.model_id))
        again = LocalServer.start(
            smollm_path, port=port, context_length=256, parallel=1, log_path=log
        )
        assert again.base_url == server.base_url
        text, finish = await collect(client, chat(again.model_id))
        assert text and finish.reason in (FinishReason.STOP, FinishReason.LENGTH)
    finally:
        await client.aclose()
        server.stop()
        if again is not None:
            again.stop()
    assert not pid_alive(server.pid)
    assert again is None or not pid_alive(again.pid)


SECRET_WORD = "quux-detail"
BODIES: dict[str, tuple[bytes | str | dict[str, object], str | None]] = {
    "nested json": ({"error": {"message": f"nested {SECRET_WORD}", "type": "x"}}, None),
    "flat json": ({"error": f"flat {SECRET_WORD}"}, None),
    "detail json": ({"detail": f"detail {SECRET_WORD}"}, None),
    "openai object": ({"object": "error", "message": f"object {SECRET_WORD}"}, None),
    "plain text": (f"plain {SECRET_WORD}", "text/plain"),
    "html page": (
        f"<html><head><title>Oops {SECRET_WORD}</title></head><body><h1>Oops</h1>"
        + "<p>filler</p>" * 100
        + "</body></html>",
        "text/html",
    ),
    "empty": (b"", "text/plain"),
    "json that is no error": ({"unexpected": True}, None),
}
STATUSES = {401: AuthRequired, 403: AuthRequired, 404: None, 500: ServerError, 503: ServerError}


@pytest.mark.parametrize("status", sorted(STATUSES))
@pytest.mark.parametrize("shape", sorted(BODIES))
async def test_error_status_and_body_shape_gives_one_clear_line(
    fake_server: FakeServer, status: int, shape: str
) -> None:
    body, ctype = BODIES[shape]
    fake_server.enqueue(Reply(status=status, body=body, content_type=ctype))
    async with LMStudioClient(fake_server.base_url) as client:
        with pytest.raises(LmtuiError) as info:
            await collect(client, chat())
    err = info.value
    expected = STATUSES[status]
    if expected is None:  # a 404 is a missing endpoint, or the server's own message
        expected = NotSupported if shape in ("empty", "json that is no error") else ServerError
    assert isinstance(err, expected), (type(err), err.message)
    assert err.status == status
    assert err.message and "\n" not in err.message
    assert err.remedy
    assert "<" not in err.message  # never raw markup
    if isinstance(err, AuthRequired):
        assert str(status) in err.message
    elif shape not in ("empty", "json that is no error"):
        assert SECRET_WORD in err.message  # the server's own words are passed on
