"""Streaming chat and completions through the fake server: content, reasoning, usage,
finish reasons, interruptions, malformed input and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import cast

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import (
    ContextOverflow,
    LmtuiError,
    MalformedResponse,
    NoModelLoaded,
    ServerError,
    StreamInterrupted,
)
from lmtui.backend.types import (
    CompletionRequest,
    ContentDelta,
    FinishReason,
    ModelUsed,
    ReasoningDelta,
    SamplingParams,
    StreamEvent,
    TimingsReport,
    Usage,
    UsageReport,
)
from tests.backend.helpers import LOADED_LLM, ask, drain, finish_of
from tests.fake_server import NO_MODELS_MESSAGE, OVERFLOW_MESSAGE, FakeServer, Reply


async def test_default_reply_echoes_with_usage_and_model(client: LMStudioClient) -> None:
    events, result = await drain(client.stream_chat(ask("hello there world")))
    assert isinstance(events[0], ModelUsed)
    assert result.model == LOADED_LLM
    assert result.content == "hello there world"
    # The server's three deltas, in order; those of one read come joined, counted in pieces.
    deltas = [e for e in events if isinstance(e, ContentDelta)]
    assert "".join(e.text for e in deltas) == "hello there world"
    assert sum(e.pieces for e in deltas) == 3
    assert result.usage == Usage(prompt_tokens=3, completion_tokens=3, total_tokens=6)
    finish = finish_of(events)
    assert finish.reason is FinishReason.STOP
    assert finish.timings.delta_count == 3
    assert finish.timings.time_to_first_token_s is not None
    assert finish.malformed_lines == 0


async def test_max_tokens_stops_with_length(client: LMStudioClient) -> None:
    request = ask("one two three four five", params=SamplingParams(max_tokens=2))
    events, result = await drain(client.stream_chat(request))
    assert result.content == "one two"
    assert finish_of(events).reason is FinishReason.LENGTH


async def test_scripted_text_arrives_in_four_character_deltas(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="The quick brown fox"))
    events, result = await drain(client.stream_chat(ask()))
    deltas = [e for e in events if isinstance(e, ContentDelta)]
    assert sum(e.pieces for e in deltas) == 5  # "The ", "quic", "k br", "own ", "fox"
    assert "".join(e.text for e in deltas) == "The quick brown fox"
    assert result.content == "The quick brown fox"


@pytest.mark.parametrize("mode", ["reasoning_content", "reasoning", "think_tags"])
async def test_every_reasoning_form_is_split_from_the_answer(
    fake_server: FakeServer, client: LMStudioClient, mode: str
) -> None:
    fake_server.enqueue(
        Reply(
            reasoning=["The user ", "greets me", "."],
            reasoning_mode=mode,  # type: ignore[arg-type]
            deltas=["Hi", " there"],
        )
    )
    events, result = await drain(client.stream_chat(ask()))
    assert result.reasoning == "The user greets me."
    assert result.content == "Hi there"
    kinds = [type(e) for e in events if isinstance(e, ContentDelta | ReasoningDelta)]
    assert kinds.index(ContentDelta) > kinds.index(ReasoningDelta)
    assert finish_of(events).reason is FinishReason.STOP


@pytest.mark.parametrize(
    "deltas",
    [
        ["<th", "ink>Let me", " think</th", "ink>The answer"],
        ["<", "think", ">", "Let me think", "<", "/", "think", ">", "The answer"],
        ["<think>Let me think</think>The answer"],
    ],
)
async def test_think_tags_split_across_deltas(
    fake_server: FakeServer, client: LMStudioClient, deltas: list[str]
) -> None:
    fake_server.enqueue(Reply(deltas=deltas))
    _, result = await drain(client.stream_chat(ask()))
    assert result.reasoning == "Let me think"
    assert result.content == "The answer"


async def test_a_lone_angle_bracket_is_content(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(deltas=["a <", "b and c <th"]))
    _, result = await drain(client.stream_chat(ask()))
    assert result.content == "a <b and c <th"
    assert result.reasoning == ""


USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


@pytest.mark.parametrize("usage_on", ["final_empty_choices", "last_delta"])
async def test_usage_on_any_chunk(
    fake_server: FakeServer, client: LMStudioClient, usage_on: str
) -> None:
    fake_server.enqueue(Reply(text="abcdefgh", usage=USAGE, usage_on=usage_on))  # type: ignore[arg-type]
    events, result = await drain(client.stream_chat(ask()))
    reports = [e for e in events if isinstance(e, UsageReport)]
    assert [r.usage for r in reports] == [Usage(11, 7, 18)]
    assert result.usage == Usage(11, 7, 18)
    assert result.content == "abcdefgh"


async def test_no_usage_at_all(fake_server: FakeServer, client: LMStudioClient) -> None:
    fake_server.enqueue(Reply(text="abcdefgh", usage_on="none"))
    events, result = await drain(client.stream_chat(ask()))
    assert not any(isinstance(e, UsageReport) for e in events)
    assert result.usage is None
    finish = finish_of(events)
    assert finish.reason is FinishReason.STOP
    assert finish.timings.delta_count == 2


async def test_llamacpp_timings_are_reported(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    timings = {
        "prompt_n": 12,
        "prompt_ms": 30.5,
        "predicted_n": 40,
        "predicted_ms": 500.0,
        "predicted_per_second": 80.0,
    }
    fake_server.enqueue(Reply(text="hi", timings=timings))
    events, result = await drain(client.stream_chat(ask()))
    reports = [e for e in events if isinstance(e, TimingsReport)]
    assert len(reports) == 1
    t = reports[0].timings
    assert (t.prompt_tokens, t.prompt_ms, t.predicted_tokens) == (12, 30.5, 40)
    assert (t.predicted_ms, t.tokens_per_second) == (500.0, 80.0)
    assert result.server_timings == t


async def test_model_used_is_the_served_model(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="hi", model="some-other-model"))
    events, result = await drain(client.stream_chat(ask()))
    assert [e for e in events if isinstance(e, ModelUsed)] == [ModelUsed("some-other-model")]
    assert result.model == "some-other-model"


async def test_single_loaded_model_serves_an_unknown_id() -> None:
    # LM Studio quirk: with one model loaded, any name is served by it.
    with FakeServer(serve_single_loaded=True) as srv:
        async with LMStudioClient(srv.base_url) as client:
            _, result = await drain(client.stream_chat(ask(model="ghost-model")))
    assert result.model == LOADED_LLM
    assert srv.requests_to("/v1/chat/completions")[0].json_body["model"] == "ghost-model"


@pytest.mark.parametrize("reason", ["stop", "length", "tool_calls", "content_filter"])
async def test_each_finish_reason(
    fake_server: FakeServer, client: LMStudioClient, reason: str
) -> None:
    fake_server.enqueue(Reply(text="partial", finish_reason=reason))
    events, result = await drain(client.stream_chat(ask()))
    assert finish_of(events).reason is FinishReason(reason)
    assert finish_of(events).detail == ""
    assert result.content == "partial"


@pytest.mark.parametrize("reset", [False, True])
async def test_cut_connection_is_interrupted_and_keeps_the_partial_reply(
    fake_server: FakeServer, client: LMStudioClient, reset: bool
) -> None:
    fake_server.enqueue(
        Reply(deltas=["one", " two", " three", " four"], cut_after=2, cut_with_reset=reset)
    )
    events, result = await drain(client.stream_chat(ask()))
    finish = finish_of(events)
    assert finish.reason is FinishReason.INTERRUPTED
    assert "closed the connection" in finish.detail
    if not reset:  # a reset may discard bytes the client had not read yet
        assert result.content == "one two"


async def test_cut_before_any_delta_is_interrupted(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="never sent", cut_after=0))
    events, result = await drain(client.stream_chat(ask()))
    assert finish_of(events).reason is FinishReason.INTERRUPTED
    assert result.content == ""


async def test_no_finish_reason_is_interrupted(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="abc", finish_reason=None))
    events, result = await drain(client.stream_chat(ask()))
    finish = finish_of(events)
    assert finish.reason is FinishReason.INTERRUPTED
    assert finish.detail == "the stream ended without a finish reason"
    assert result.content == "abc"


async def test_no_done_and_no_finish_reason_is_interrupted(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="abc", finish_reason=None, no_done=True, usage_on="none"))
    events, result = await drain(client.stream_chat(ask()))
    finish = finish_of(events)
    assert finish.reason is FinishReason.INTERRUPTED
    assert finish.detail == "the stream ended before the server said it was done"
    assert result.content == "abc"


async def test_no_done_after_a_finish_reason_keeps_the_reason(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    # The server said why it stopped; a missing [DONE] loses nothing.
    fake_server.enqueue(Reply(text="abc", finish_reason="length", no_done=True))
    events, _ = await drain(client.stream_chat(ask()))
    assert finish_of(events).reason is FinishReason.LENGTH


async def test_empty_200_stream_is_stream_interrupted(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(empty_200=True))
    with pytest.raises(StreamInterrupted) as info:
        await drain(client.stream_chat(ask()))
    assert "context" in info.value.remedy


async def test_read_timeout_mid_stream_is_interrupted(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(deltas=["a", "b", "c"], stall_after=2))
    async with LMStudioClient(fake_server.base_url, read_timeout=0.3) as client:
        events, result = await drain(client.stream_chat(ask()))
    finish = finish_of(events)
    assert finish.reason is FinishReason.INTERRUPTED
    assert "no data from the server" in finish.detail
    assert result.content == "ab"


async def test_malformed_lines_are_skipped_and_counted(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(deltas=["a", "b", "c"], malformed_line_at=1))
    events, result = await drain(client.stream_chat(ask()))
    finish = finish_of(events)
    assert finish.malformed_lines == 1
    assert finish.reason is FinishReason.STOP
    assert result.content == "abc"


async def test_a_stream_of_nothing_but_garbage_is_malformed(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(
        Reply(deltas=[], malformed_line_at=0, finish_reason=None, usage_on="none", no_done=True)
    )
    with pytest.raises(MalformedResponse):
        await drain(client.stream_chat(ask()))


async def test_invalid_utf8_is_replaced_not_fatal(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(deltas=["ok ", "bad", " end"], invalid_utf8_at=1))
    events, result = await drain(client.stream_chat(ask()))
    assert finish_of(events).reason is FinishReason.STOP
    assert result.content.startswith("ok ")
    assert result.content.endswith("bad end")
    assert "\ufffd" in result.content


@pytest.mark.parametrize(
    ("chunk", "error"),
    [
        ({"error": {"message": "Compute error."}}, ServerError),
        ({"error": OVERFLOW_MESSAGE}, ContextOverflow),
        ({"error": {"message": NO_MODELS_MESSAGE}}, NoModelLoaded),
    ],
)
async def test_error_chunk_mid_stream_raises_the_typed_error(
    fake_server: FakeServer,
    client: LMStudioClient,
    chunk: dict[str, object],
    error: type[LmtuiError],
) -> None:
    fake_server.enqueue(Reply(deltas=["a", "b", "c"], error_chunk_at=2, error_chunk=chunk))
    seen: list[str] = []
    with pytest.raises(error) as info:
        async for event in client.stream_chat(ask()):
            if isinstance(event, ContentDelta):
                seen.append(event.text)
    assert "".join(seen) == "ab"  # what came before the error is passed on first
    assert info.value.status is None  # found inside the stream, not in an HTTP status


async def test_server_ignoring_stream_true_still_works(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="whole answer", reasoning=["hmm"], ignore_stream=True))
    events, result = await drain(client.stream_chat(ask()))
    assert result.content == "whole answer"
    assert result.reasoning == "hmm"
    assert result.model == LOADED_LLM
    assert finish_of(events).reason is FinishReason.STOP


async def test_first_token_delay_is_measured(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="late", first_token_delay=0.05))
    events, result = await drain(client.stream_chat(ask()))
    timings = finish_of(events).timings
    assert timings.time_to_first_token_s is not None
    assert timings.total_s >= timings.time_to_first_token_s
    assert result.content == "late"


async def test_stream_complete(client: LMStudioClient) -> None:
    request = CompletionRequest(LOADED_LLM, "Once upon a time")
    events, result = await drain(client.stream_complete(request))
    assert result.content == "Once upon a time"
    assert result.model == LOADED_LLM
    assert finish_of(events).reason is FinishReason.STOP


async def test_stream_complete_is_cut_like_chat(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(deltas=["x", "y", "z"], cut_after=1))
    events, result = await drain(client.stream_complete(CompletionRequest(LOADED_LLM, "p")))
    assert result.content == "x"
    assert finish_of(events).reason is FinishReason.INTERRUPTED


# ---- cancellation: the server must see the client go away -------------------------------

SLOW = Reply(deltas=[f"d{i} " for i in range(400)], delta_delay=0.01)


async def _wait_done(fake_server: FakeServer) -> None:
    rec = fake_server.requests_to("/v1/chat/completions")[-1]
    finished = await asyncio.to_thread(rec.done.wait, 10)
    assert finished, "the server never finished the cancelled request"
    assert rec.client_gone
    assert rec.deltas_sent < len(SLOW.pieces())


async def test_breaking_out_of_the_stream_closes_the_connection(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(SLOW)
    got = 0
    # stream_chat is an async generator, though annotated as an AsyncIterator.
    stream_gen = cast(AsyncGenerator[StreamEvent, None], client.stream_chat(ask()))
    async with contextlib.aclosing(stream_gen) as stream:
        async for event in stream:
            if isinstance(event, ContentDelta):
                got += 1
                if got == 3:
                    break
    await _wait_done(fake_server)


async def test_plain_break_closes_the_connection_too(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(SLOW)
    got = 0
    async for event in client.stream_chat(ask()):
        if isinstance(event, ContentDelta):
            got += 1
            if got == 3:
                break
    await _wait_done(fake_server)


async def test_cancelling_the_task_closes_the_connection(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(SLOW)
    started = asyncio.Event()

    async def consume() -> None:
        async for event in client.stream_chat(ask()):
            if isinstance(event, ContentDelta):
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_done(fake_server)
    # The client stays usable after a cancelled stream.
    _, result = await drain(client.stream_chat(ask("still here")))
    assert result.content == "still here"


async def test_scripted_reply_answers_any_model_id(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    # Scripts are the test's word: only unscripted requests get LM Studio's model checks.
    fake_server.enqueue(Reply(text="scripted"))
    _, result = await drain(client.stream_chat(ask(model="made-up-model")))
    assert (result.content, result.model) == ("scripted", "made-up-model")
