"""The troubleshooting figures: speed on the recent median, prompt processing apart,
stopped replies listed, placeholder versions not shown as values."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from lmtui.backend.client import Exchange, LMStudioClient
from lmtui.backend.types import ChatRequest, ContentDelta, Message
from lmtui.services.doctor import exchange_findings, shown_version, speed_findings
from lmtui.services.inspector import RequestLog
from tests.fake_server import FakeServer, Reply


def reply(tps: float | None, ttft: float | None = 0.2) -> Exchange:
    ex = Exchange("POST", "/v1/chat/completions", {}, time.time(), status=200)
    ex.tokens_per_second, ex.ttft_s, ex.finish_reason = tps, ttft, "stop"
    return ex


def ids(exchanges: list[Exchange]) -> set[str]:
    return {f.id for f in speed_findings(exchanges)}


def test_one_slow_reply_among_fast_ones_is_not_slow() -> None:
    log = [reply(50.0) for _ in range(4)] + [reply(4.7, ttft=30.0)] + [reply(52.0)]
    assert ids(log) == set()
    assert "slow" not in {f.id for f in exchange_findings(log)}


def test_slow_generation_is_judged_on_the_recent_median() -> None:
    slow = speed_findings([reply(50.0)] * 10 + [reply(3.0)] * 5)
    assert [f.id for f in slow] == ["slow"]
    assert "3.0 tokens/s" in slow[0].title and "median of the last 8" in slow[0].title


def test_prompt_processing_is_counted_apart() -> None:
    found = speed_findings([reply(50.0, ttft=40.0)] * 3)
    assert [f.id for f in found] == ["slow_prompt"]  # generation itself is fast
    assert "40.0 s to the first token" in found[0].title


@pytest.mark.parametrize(
    ("version", "shown"),
    [("b0-unknown", None), ("unknown", None), ("", None), (None, None), ("b4567-abc", "b4567-abc")],
)
def test_placeholder_versions_are_not_values(version: str | None, shown: str | None) -> None:
    assert shown_version(version) == shown


@pytest.fixture
async def logged(fake_server: FakeServer) -> AsyncIterator[tuple[LMStudioClient, RequestLog]]:
    log = RequestLog()
    async with LMStudioClient(fake_server.base_url, on_exchange=log.record) as client:
        yield client, log


async def test_a_stopped_reply_is_in_the_request_list(
    fake_server: FakeServer, logged: tuple[LMStudioClient, RequestLog]
) -> None:
    client, log = logged
    fake_server.enqueue(Reply(deltas=["one ", "two ", "three "] * 50))
    events = client.stream_chat(ChatRequest("test-model", (Message("user", "go"),)))
    async for event in events:
        if isinstance(event, ContentDelta):
            break
    await events.aclose()  # what Esc does
    (ex,) = log.last(1)
    assert ex.finish_reason == "stopped" and ex.error is None
    assert ex.path == "/v1/chat/completions"
