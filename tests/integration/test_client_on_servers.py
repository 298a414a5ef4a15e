"""The client against real HTTP: the fake llama.cpp-shaped server and the real llama.cpp server.

Every test runs twice (``[fake]`` and ``[real]``): what passes against the fake must
also hold against the real thing.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ContextOverflow
from lmtui.backend.types import (
    ChatRequest,
    ChatResult,
    CompletionRequest,
    ContentDelta,
    Finish,
    FinishReason,
    Message,
    ModelType,
    SamplingParams,
    ServerKind,
    StreamEvent,
)
from lmtui.services.local_server import LocalServer
from tests.fake_server import CONTEXT_OVERFLOW_LLAMACPP, FakeServer
from tests.integration.helpers import REAL_CONTEXT, Target, long_reply

GREEDY = SamplingParams(temperature=0.0, seed=7)


def chat(target: Target, text: str, **params: object) -> ChatRequest:
    """A one-message chat request for the target's model."""
    return ChatRequest(
        target.chat_model,
        (Message("user", text),),
        GREEDY.merged(SamplingParams(**params)),  # type: ignore[arg-type]
    )


async def collect(events: object) -> tuple[ChatResult, list[StreamEvent]]:
    """Fold a stream into a result, keeping the events."""
    result = ChatResult()
    seen: list[StreamEvent] = []
    async for event in events:  # type: ignore[attr-defined]
        seen.append(event)
        result.apply(event)
    return result, seen


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Cosine similarity of two vectors."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def test_lists_the_model_as_llamacpp_and_loaded(target: Target) -> None:
    async with LMStudioClient(target.base_url) as client:
        models = await client.list_models()
        assert client.capabilities is not None
        assert client.capabilities.kind is ServerKind.LLAMACPP
    chat_model = next(m for m in models if m.id == target.chat_model)
    assert chat_model.loaded is True
    assert chat_model.type is not ModelType.EMBEDDINGS


@pytest.mark.real_server
async def test_real_llamacpp_reports_its_build_and_loaded_context(real_server: LocalServer) -> None:
    async with LMStudioClient(real_server.base_url) as client:
        models = await client.list_models()
        assert client.capabilities is not None
        assert client.capabilities.version  # build_info from /props
    (model,) = [m for m in models if m.id == real_server.model_id]
    assert model.loaded_context_length == REAL_CONTEXT


async def test_streamed_chat_gives_a_reply_and_a_finish(target: Target) -> None:
    async with LMStudioClient(target.base_url) as client:
        result, events = await collect(
            client.stream_chat(chat(target, "Say hello to Anna.", max_tokens=24))
        )
    assert result.content.strip()
    # Streamed: two deltas or more (those of one read come joined, counted in pieces).
    assert sum(e.pieces for e in events if isinstance(e, ContentDelta)) >= 2
    assert isinstance(events[-1], Finish)
    assert sum(isinstance(e, Finish) for e in events) == 1
    assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert result.model  # the server says which model answered


async def test_max_tokens_ends_with_length(target: Target) -> None:
    prompt = "Write a long story about a lighthouse keeper and the sea, in many words."
    async with LMStudioClient(target.base_url) as client:
        result, _ = await collect(client.stream_chat(chat(target, prompt, max_tokens=8)))
    assert result.finish_reason is FinishReason.LENGTH
    assert result.content.strip()
    if result.usage is not None:
        assert 0 < result.usage.completion_tokens <= 8


async def test_raw_completion_streamed_and_whole(target: Target) -> None:
    request = CompletionRequest(
        target.chat_model,
        "The three primary colours are red, blue and",
        GREEDY.merged(SamplingParams(max_tokens=6)),
    )
    async with LMStudioClient(target.base_url) as client:
        streamed, events = await collect(client.stream_complete(request))
        whole = await client.complete(request)
    assert isinstance(events[-1], Finish)
    assert streamed.content.strip()
    assert streamed.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert whole.content.strip()
    assert whole.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    # Greedy sampling: streaming and not streaming produce the same text.
    assert whole.content == streamed.content


async def test_similar_sentences_embed_closer(target: Target) -> None:
    texts = [
        "The cat sat on the mat.",
        "A cat was sitting on the mat.",
        "Quarterly tax filings are due in April.",
    ]
    async with LMStudioClient(target.base_url) as client:
        emb = await client.embed(target.embed_model, texts)
    assert len(emb.vectors) == 3
    assert emb.dimensions > 8
    cat, cat2, tax = emb.vectors
    assert cosine(cat, cat2) > cosine(cat, tax)
    assert cosine(cat, cat2) > cosine(cat2, tax)


async def test_context_overflow_raises_with_a_remedy(target: Target) -> None:
    def overflow(fake: FakeServer) -> None:
        fake.enqueue(CONTEXT_OVERFLOW_LLAMACPP)

    target.script(overflow)
    prompt = "Please summarise the following notes. " + "The harbour was calm that day. " * 400
    async with LMStudioClient(target.base_url) as client:
        with pytest.raises(ContextOverflow) as info:
            await collect(client.stream_chat(chat(target, prompt, max_tokens=8)))
        # The server is fine afterwards.
        after, _ = await collect(client.stream_chat(chat(target, "Say hi.", max_tokens=4)))
    err = info.value
    assert "context" in err.remedy.lower()
    assert err.prompt_tokens is not None and err.context_length is not None
    assert err.prompt_tokens > err.context_length
    assert after.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)


async def test_cancelling_mid_stream_leaves_the_server_serving(target: Target) -> None:
    target.script(lambda fake: fake.enqueue(long_reply()))
    prompt = "Count from one to five hundred, one number per line."
    async with LMStudioClient(target.base_url) as client:
        stream = client.stream_chat(chat(target, prompt, max_tokens=400))
        got: list[str] = []
        async for event in stream:
            if isinstance(event, ContentDelta):
                got.append(event.text)
            if len(got) == 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert len(got) == 3
        after, events = await collect(client.stream_chat(chat(target, "Say hi.", max_tokens=6)))
    assert isinstance(events[-1], Finish)
    assert after.content.strip()


async def test_three_concurrent_streams_all_finish(target: Target) -> None:
    prompts = ["Name a colour.", "Name a fruit.", "Name an animal."]
    async with LMStudioClient(target.base_url) as client:
        results = await asyncio.gather(
            *(collect(client.stream_chat(chat(target, p, max_tokens=12))) for p in prompts)
        )
    for result, events in results:
        assert isinstance(events[-1], Finish)
        assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
        assert result.content.strip()
