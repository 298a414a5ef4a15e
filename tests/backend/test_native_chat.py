"""LM Studio 0.4's /api/v1/chat on the wire, against the fake server's copy of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lmtui.backend.client import Exchange, LMStudioClient
from lmtui.backend.errors import ModelNotFound, ServerError
from lmtui.backend.native_chat import (
    MASK,
    Integration,
    IntegrationRefused,
    NativeChatRequest,
    ReasoningRefused,
    UnknownResponseId,
)
from lmtui.backend.types import (
    ChatResult,
    ContentDelta,
    Finish,
    FinishReason,
    LoadProgress,
    PromptProgress,
    ReasoningDelta,
    ResponseIdReport,
    SamplingParams,
    ServerStatsReport,
    StreamEvent,
    ToolCallEvent,
)
from tests.fake_native_chat import FakeToolCall, NativeReply, native
from tests.fake_server import FakeServer

LOADED = "qwen2.5-7b-instruct"
UNLOADED = "deepseek-r1-distill-qwen-14b"
PAGE = FakeToolCall(
    tool="browser_navigate",
    arguments={"url": "https://example.com"},
    output='[{"type":"text","text":"Example Domain"}]',
)
BAD_ARGS = FakeToolCall(
    tool="browser_click",
    arguments={"ref": 7},
    provider={"type": "ephemeral_mcp", "server_label": "docs"},
    failure="Invalid arguments: ref must be a string",
)
BAD_NAME = FakeToolCall(tool="open_browser", failure="Cannot find tool", invalid_name=True)


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeServer:
    fake_server.native_chat = True
    return fake_server


async def collect(client: LMStudioClient, request: NativeChatRequest) -> list[StreamEvent]:
    return [event async for event in client.stream_native_chat(request)]


def fold(events: list[StreamEvent]) -> ChatResult:
    result = ChatResult()
    for event in events:
        result.apply(event)
    return result


async def test_unloaded_model_streams_load_then_prompt_progress_then_reply(
    fake: FakeServer, client: LMStudioClient
) -> None:
    native(fake).enqueue(
        NativeReply(text="Hello!", load_steps=(0.25, 0.5, 0.75, 1.0), prompt_steps=(0.5,))
    )
    events = await collect(client, NativeChatRequest(UNLOADED, "hi"))
    loads = [e for e in events if isinstance(e, LoadProgress)]
    assert [e.progress for e in loads] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert loads[-1].done and loads[-1].load_time_s == 2.5
    kinds = [type(e).__name__ for e in events]
    # Load, then prompt processing, then the answer, then the server's figures.
    assert kinds.index("LoadProgress") < kinds.index("PromptProgress") < kinds.index("ContentDelta")
    prompts = [e.progress for e in events if isinstance(e, PromptProgress)]
    assert prompts == [0.0, 0.5, 1.0]
    stats = next(e.stats for e in events if isinstance(e, ServerStatsReport))
    assert stats.tokens_per_second == 42.5 and stats.model_load_time_s == 2.5
    # A model that does not reason: LM Studio's zero reasoning count means "not reported".
    assert stats.reasoning_tokens is None
    assert isinstance(events[-1], Finish) and events[-1].reason is FinishReason.STOP
    assert fold(events).content == "Hello!"
    assert fake.model(UNLOADED) is not None and fake.model(UNLOADED).loaded  # type: ignore[union-attr]


async def test_loaded_model_sends_no_load_events(fake: FakeServer, client: LMStudioClient) -> None:
    events = await collect(client, NativeChatRequest(LOADED, "hi"))
    assert not any(isinstance(e, LoadProgress) for e in events)
    assert fold(events).content == "turn 1: hi"


async def test_request_body_is_what_lm_studio_documents(
    fake: FakeServer, client: LMStudioClient
) -> None:
    request = NativeChatRequest(
        LOADED,
        "look",
        images=("data:image/png;base64,AAAA",),
        system_prompt="Be brief.",
        previous_response_id=None,
        params=SamplingParams(temperature=0.2, max_tokens=64, top_k=20),
        reasoning=None,
        context_length=8192,
    )
    await collect(client, request)
    body = fake.requests_to("/api/v1/chat")[-1].json_body
    assert body == {
        "model": LOADED,
        "input": [
            {"type": "message", "content": "look"},
            {"type": "image", "data_url": "data:image/png;base64,AAAA"},
        ],
        "system_prompt": "Be brief.",
        "temperature": 0.2,
        "top_k": 20,
        "max_output_tokens": 64,
        "context_length": 8192,
        "stream": True,
    }


async def test_reasoning_and_tool_calls_success_and_failure(
    fake: FakeServer, client: LMStudioClient
) -> None:
    native(fake).enqueue(
        NativeReply(
            text="Done.", reasoning=("Need to ", "browse."), tool_calls=(PAGE, BAD_ARGS, BAD_NAME)
        )
    )
    events = await collect(client, NativeChatRequest(UNLOADED, "browse"))
    result = fold(events)
    assert result.reasoning == "Need to browse."
    calls: dict[str, Any] = {}
    for e in events:
        if isinstance(e, ToolCallEvent):
            calls[e.call.id] = e.call
    page, click, unknown = calls.values()
    assert (page.name, page.provider, page.output) == (
        "browser_navigate",
        "mcp/playwright",
        '[{"type":"text","text":"Example Domain"}]',
    )
    assert json.loads(page.arguments) == {"url": "https://example.com"}
    assert (click.provider, click.failure) == ("docs", "Invalid arguments: ref must be a string")
    assert (unknown.name, unknown.failure, unknown.output) == (
        "open_browser",
        "Cannot find tool",
        None,
    )
    stats = next(e.stats for e in events if isinstance(e, ServerStatsReport))
    assert stats.reasoning_tokens == 3


async def test_whole_answer_when_the_server_ignores_stream(
    fake: FakeServer, client: LMStudioClient
) -> None:
    native(fake).enqueue(
        NativeReply(text="Whole.", reasoning=("why",), tool_calls=(PAGE,), ignore_stream=True)
    )
    events = await collect(client, NativeChatRequest(LOADED, "x"))
    result = fold(events)
    assert (result.content, result.reasoning) == ("Whole.", "why")
    assert [e.call.name for e in events if isinstance(e, ToolCallEvent)] == ["browser_navigate"]
    assert any(isinstance(e, ResponseIdReport) for e in events)
    assert isinstance(events[-1], Finish) and events[-1].reason is FinishReason.STOP


async def test_response_ids_chain_turns(fake: FakeServer, client: LMStudioClient) -> None:
    first = await collect(client, NativeChatRequest(LOADED, "one"))
    rid = next(e.response_id for e in first if isinstance(e, ResponseIdReport))
    assert rid.startswith("resp_")
    second = await collect(client, NativeChatRequest(LOADED, "two", previous_response_id=rid))
    assert fold(second).content == "turn 2: two"
    assert fake.requests_to("/api/v1/chat")[-1].json_body["previous_response_id"] == rid


@pytest.mark.parametrize("style", ["http", "event"])
async def test_unknown_previous_response_id(
    fake: FakeServer, client: LMStudioClient, style: str
) -> None:
    native(fake).unknown_id_style = style
    with pytest.raises(UnknownResponseId):
        await collect(client, NativeChatRequest(LOADED, "x", previous_response_id="resp_gone"))


async def test_error_in_the_stream_raises_after_chat_end(
    fake: FakeServer, client: LMStudioClient
) -> None:
    error = {"error": {"type": "internal_error", "message": "Compute error."}}
    native(fake).enqueue(NativeReply(text="partial", error=error))
    seen: list[StreamEvent] = []
    with pytest.raises(ServerError, match="Compute error"):
        async for event in client.stream_native_chat(NativeChatRequest(LOADED, "x")):
            seen.append(event)
    # What was generated still arrived before the error.
    assert fold(seen).content == "partial"
    assert any(isinstance(e, ServerStatsReport) for e in seen)


async def test_mcp_refused_says_where_to_allow_it(fake: FakeServer, client: LMStudioClient) -> None:
    native(fake).allow_mcp = False
    request = NativeChatRequest(
        LOADED, "x", integrations=(Integration(plugin_id="mcp/playwright"),)
    )
    with pytest.raises(IntegrationRefused) as info:
        await collect(client, request)
    assert "Allow per-request MCPs" in info.value.remedy
    assert "Allow calling servers from mcp.json" in info.value.remedy


async def test_reasoning_the_model_refuses(fake: FakeServer, client: LMStudioClient) -> None:
    with pytest.raises(ReasoningRefused, match="Supported: off, on"):
        await collect(client, NativeChatRequest(UNLOADED, "x", reasoning="high"))
    events = await collect(client, NativeChatRequest(UNLOADED, "x", reasoning="off"))
    assert fake.requests_to("/api/v1/chat")[-1].json_body["reasoning"] == "off"
    assert isinstance(events[-1], Finish)


async def test_unknown_model(fake: FakeServer, client: LMStudioClient) -> None:
    with pytest.raises(ModelNotFound):
        await collect(client, NativeChatRequest("nope", "x"))


async def test_mcp_headers_go_on_the_wire_but_are_masked_for_the_inspector(
    fake: FakeServer,
) -> None:
    exchanges: list[Exchange] = []
    secret = "Bearer hf_SECRET_123"
    server = Integration(
        server_label="huggingface",
        server_url="https://huggingface.co/mcp",
        allowed_tools=("model_search",),
        headers={"Authorization": secret},
    )
    async with LMStudioClient(fake.base_url, on_exchange=exchanges.append) as client:
        await collect(client, NativeChatRequest(LOADED, "x", integrations=(server,)))
    sent = fake.requests_to("/api/v1/chat")[-1].json_body["integrations"]
    assert sent == [
        {
            "type": "ephemeral_mcp",
            "server_label": "huggingface",
            "server_url": "https://huggingface.co/mcp",
            "allowed_tools": ["model_search"],
            "headers": {"Authorization": secret},
        }
    ]
    shown = json.dumps(exchanges[-1].request, ensure_ascii=False)
    assert secret not in shown and MASK in shown


async def test_closing_during_a_load_closes_the_connection(
    fake: FakeServer, client: LMStudioClient
) -> None:
    native(fake).enqueue(NativeReply(load_steps=(0.1, 0.2, 0.3, 0.4, 0.5), step_delay=1.0))
    stream = client.stream_native_chat(NativeChatRequest(UNLOADED, "x"))
    async for event in stream:
        if isinstance(event, LoadProgress) and event.progress > 0:
            break
    await stream.aclose()
    record = fake.requests_to("/api/v1/chat")[-1]
    # The fake's next write after its sleep fails: the load was abandoned, not finished.
    assert record.done.wait(10)
    assert record.client_gone or not fake.model(UNLOADED).loaded  # type: ignore[union-attr]


async def test_cut_after_load_is_an_interrupted_reply(
    fake: FakeServer, client: LMStudioClient
) -> None:
    native(fake).enqueue(NativeReply(cut_after_load=True))
    events = await collect(client, NativeChatRequest(UNLOADED, "x"))
    assert isinstance(events[-1], Finish) and events[-1].reason is FinishReason.INTERRUPTED
    assert not any(isinstance(e, ContentDelta | ReasoningDelta) for e in events)
