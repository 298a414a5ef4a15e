"""The sync client (``lmtui ask``'s lean path) against the async one, on the wire.

Both drive the same ``StreamCall``: for every reply shape and error the fake server can
send, they must yield the same events (timings aside; the deltas the async client
joins per read joined on both sides) or raise the same typed error with the same
message. A fork of the protocol shows up here as a difference.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.delta_merge import merge_deltas
from lmtui.backend.errors import LmtuiError
from lmtui.backend.native_chat import NativeChatRequest
from lmtui.backend.sync_client import SyncClient
from lmtui.backend.types import ChatRequest, Finish, Message, ResponseIdReport, SamplingParams
from tests.fake_native_chat import NativeReply, native
from tests.fake_server import ERROR_SHAPES, FakeServer, Reply

MODEL = "qwen2.5-7b-instruct"
REQUEST = ChatRequest(MODEL, (Message("user", "hi"),), SamplingParams())

REPLIES = {
    "plain": Reply(text="Hello there, how are you?"),
    "reasoning": Reply(text="4", reasoning=["2+2", " is 4"]),
    "think tags": Reply(deltas=["<thi", "nk>hm</th", "ink>", "Yes."]),
    "length": Reply(text="cut here", finish_reason="length"),
    "no finish reason": Reply(text="and then", finish_reason=None),
    "no [DONE]": Reply(text="unfinished", no_done=True),
    "cut mid reply": Reply(text="a long reply that stops", cut_after=2),
    "malformed line": Reply(text="still fine", malformed_line_at=1),
    "whole answer": Reply(text="not streamed", ignore_stream=True),
    "timings": Reply(text="ok", timings={"prompt_n": 3, "predicted_n": 1, "predicted_ms": 5.0}),
    "error in stream": Reply(text="partial text here", error_chunk_at=2),
    "empty 200": Reply(empty_200=True),
    **{name.lower(): reply for name, reply in ERROR_SHAPES.items()},
}


def _joined(events: list[Any]) -> list[Any]:
    """``events`` with adjacent deltas joined: the async client joins those of one read."""
    return merge_deltas(events)


def _shape(event: Any) -> Any:
    """An event without its measured times or the server's new response id."""
    if isinstance(event, ResponseIdReport):
        return ResponseIdReport
    if isinstance(event, Finish):
        return (Finish, event.reason, event.detail, event.malformed_lines)
    return event


async def _async_run(url: str, stream: str, request: Any) -> tuple[list[Any], str | None]:
    async with LMStudioClient(url, read_timeout=20) as client:
        events: list[Any] = []
        try:
            async for event in getattr(client, stream)(request):
                events.append(_shape(event))
        except LmtuiError as exc:
            return _joined(events), f"{type(exc).__name__}: {exc.message} | {exc.remedy}"
        return _joined(events), None


def _sync_run(url: str, stream: str, request: Any) -> tuple[list[Any], str | None]:
    with SyncClient(url, read_timeout=20) as client:
        events: list[Any] = []
        try:
            for event in getattr(client, stream)(request):
                events.append(_shape(event))
        except LmtuiError as exc:
            return _joined(events), f"{type(exc).__name__}: {exc.message} | {exc.remedy}"
        return _joined(events), None


@pytest.mark.parametrize("name", sorted(REPLIES))
async def test_the_sync_client_streams_what_the_async_one_does(
    fake_server: FakeServer, name: str
) -> None:
    reply = REPLIES[name]
    fake_server.enqueue(reply)
    fake_server.enqueue(dataclasses.replace(reply))
    url = fake_server.base_url
    got_async = await _async_run(url, "stream_chat", REQUEST)
    got_sync = _sync_run(url, "stream_chat", REQUEST)
    assert got_sync == got_async
    assert got_sync[0] or got_sync[1]  # something came: events or an error


NATIVE = NativeChatRequest(model=MODEL, input="capital of France?")

NATIVE_REPLIES = {
    "text and reasoning": NativeReply(text="Paris.", reasoning=("Capital of France.",)),
    "load and prompt progress": NativeReply(text="ok", load_steps=(0.5, 1.0), prompt_steps=(0.5,)),
    "error event": NativeReply(text="half", error={"error": {"message": "Compute error."}}),
    "http error": NativeReply(status=400, body={"error": {"message": "Invalid model identifier"}}),
    "whole answer": NativeReply(text="whole", ignore_stream=True),
}


@pytest.mark.parametrize("name", sorted(NATIVE_REPLIES))
async def test_the_sync_client_streams_native_chat_as_the_async_one(
    fake_server: FakeServer, name: str
) -> None:
    fake_server.native_chat = True
    url = fake_server.base_url
    native(fake_server).enqueue(NATIVE_REPLIES[name])
    got_async = await _async_run(url, "stream_native_chat", NATIVE)
    native(fake_server).enqueue(NATIVE_REPLIES[name])
    got_sync = _sync_run(url, "stream_native_chat", NATIVE)
    assert got_sync == got_async
    assert got_sync[0] or got_sync[1]


async def test_detect_and_models_match_the_async_client(fake_server: FakeServer) -> None:
    async with LMStudioClient(fake_server.base_url) as aclient:
        caps = await aclient.detect()
        models = await aclient.list_models()
    with SyncClient(fake_server.base_url) as client:
        assert client.detect() == caps
        assert client.list_models() == models


def test_an_unreachable_server_is_the_same_typed_error(closed_port: int) -> None:
    client = SyncClient(f"http://127.0.0.1:{closed_port}", connect_timeout=2)
    with client, pytest.raises(LmtuiError) as caught:
        list(client.stream_chat(REQUEST))
    assert caught.value.kind == "unreachable"
    assert caught.value.remedy
