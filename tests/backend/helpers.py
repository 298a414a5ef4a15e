"""Small helpers for the backend wire tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from lmtui.backend.types import (
    ChatRequest,
    ChatResult,
    Finish,
    Message,
    SamplingParams,
    StreamEvent,
)

LOADED_LLM = "qwen2.5-7b-instruct"
EMBEDDER = "text-embedding-nomic-embed-text-v1.5"


def ask(
    text: str = "hello there world",
    *,
    model: str = LOADED_LLM,
    params: SamplingParams | None = None,
) -> ChatRequest:
    """A one-message chat request."""
    return ChatRequest(model, (Message("user", text),), params or SamplingParams())


async def drain(stream: AsyncIterator[StreamEvent]) -> tuple[list[StreamEvent], ChatResult]:
    """Read a whole stream; return its events and the folded result."""
    events: list[StreamEvent] = []
    result = ChatResult()
    async for event in stream:
        events.append(event)
        result.apply(event)
    return events, result


def finish_of(events: list[StreamEvent]) -> Finish:
    """The Finish event, checking it is the one and only last event."""
    finishes = [e for e in events if isinstance(e, Finish)]
    assert len(finishes) == 1, events
    assert events[-1] is finishes[0]
    return finishes[0]
