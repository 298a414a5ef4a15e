"""What the client puts on the wire, and the non-streaming calls."""

from __future__ import annotations

import math

import pytest

from lmtui.backend.client import Exchange, LMStudioClient, normalize_base_url
from lmtui.backend.errors import ModelNotFound
from lmtui.backend.types import (
    PARAMETER_NAMES,
    ChatRequest,
    CompletionRequest,
    FinishReason,
    Message,
    SamplingParams,
    Usage,
)
from tests.backend.helpers import EMBEDDER, LOADED_LLM, ask, drain
from tests.fake_server import FakeServer, Reply

ALL_PARAMS = SamplingParams(
    temperature=0.3,
    max_tokens=50,
    top_p=0.9,
    top_k=40,
    min_p=0.05,
    stop=("###", "END"),
    presence_penalty=0.1,
    frequency_penalty=0.2,
    repeat_penalty=1.1,
    seed=42,
    ttl=600,
    response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
)
WIRE_VALUES = {
    "temperature": 0.3,
    "max_tokens": 50,
    "top_p": 0.9,
    "top_k": 40,
    "min_p": 0.05,
    "stop": ["###", "END"],
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
    "repeat_penalty": 1.1,
    "seed": 42,
    "ttl": 600,
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
}


def test_wire_values_cover_every_parameter() -> None:
    assert set(WIRE_VALUES) == set(PARAMETER_NAMES)


async def test_streamed_request_carries_every_set_parameter(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    await drain(client.stream_chat(ask("hi", params=ALL_PARAMS)))
    body = fake_server.requests_to("/v1/chat/completions")[0].json_body
    assert {k: body[k] for k in WIRE_VALUES} == WIRE_VALUES
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == LOADED_LLM
    assert body["messages"] == [{"role": "user", "content": "hi"}]


async def test_unset_parameters_are_not_sent(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    await drain(client.stream_chat(ask("hi")))
    await client.chat(ask("hi"))
    streamed, whole = (r.json_body for r in fake_server.requests_to("/v1/chat/completions"))
    assert set(streamed) == {"model", "messages", "stream", "stream_options"}
    assert set(whole) == {"model", "messages", "stream"}
    assert whole["stream"] is False


async def test_one_parameter_alone(fake_server: FakeServer, client: LMStudioClient) -> None:
    await client.chat(ask("hi", params=SamplingParams(stop="\n\n", seed=0)))
    body = fake_server.requests_to("/v1/chat/completions")[0].json_body
    assert body["stop"] == "\n\n"
    assert body["seed"] == 0  # zero is a value, not "unset"
    assert not set(body) & (set(PARAMETER_NAMES) - {"stop", "seed"})


async def test_completion_request_body(fake_server: FakeServer, client: LMStudioClient) -> None:
    await drain(client.stream_complete(CompletionRequest(LOADED_LLM, "Once", ALL_PARAMS)))
    body = fake_server.requests_to("/v1/completions")[0].json_body
    assert body["prompt"] == "Once"
    assert body["stream"] is True
    assert {k: body[k] for k in WIRE_VALUES} == WIRE_VALUES
    assert "messages" not in body


async def test_images_go_as_content_parts(fake_server: FakeServer, client: LMStudioClient) -> None:
    url = "data:image/png;base64,iVBORw0KGgo="
    request = ChatRequest(
        LOADED_LLM,
        (Message("system", "Be brief."), Message("user", "What is this?", images=(url,))),
    )
    _, result = await drain(client.stream_chat(request))
    messages = fake_server.requests_to("/v1/chat/completions")[0].json_body["messages"]
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        },
    ]
    assert result.content == "What is this?"


async def test_bearer_token_is_sent_on_every_request() -> None:
    with FakeServer(token="sekrit") as srv:
        async with LMStudioClient(srv.base_url, token="sekrit") as client:
            await client.detect()
            _, result = await drain(client.stream_chat(ask("hi")))
            await client.embed(EMBEDDER, ["x"])
    assert result.content == "hi"
    assert len(srv.requests) == 5
    assert all(r.headers.get("authorization") == "Bearer sekrit" for r in srv.requests)


async def test_no_authorization_header_without_a_token(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    await client.chat(ask())
    assert "authorization" not in fake_server.requests[0].headers


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_base_url_with_or_without_v1(fake_server: FakeServer, suffix: str) -> None:
    async with LMStudioClient(fake_server.base_url + suffix) as client:
        assert client.base_url == fake_server.base_url
        await client.detect()
        _, result = await drain(client.stream_chat(ask("hi")))
    assert result.content == "hi"
    paths = {r.path for r in fake_server.requests}
    assert paths == {"/api/v1/models", "/api/v0/models", "/v1/models", "/v1/chat/completions"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://host:1234/v1", "http://host:1234"),
        ("http://host:1234/api/v0/", "http://host:1234"),
        ("localhost:1234", "http://localhost:1234"),
        ("https://lm.example/v1", "https://lm.example"),
        ("  ", "http://localhost:1234"),
    ],
)
def test_normalize_base_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


async def test_chat_without_streaming(fake_server: FakeServer, client: LMStudioClient) -> None:
    fake_server.enqueue(
        Reply(
            text="The answer",
            reasoning=["thinking"],
            finish_reason="length",
            usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            timings={"predicted_per_second": 55.5, "predicted_n": 2},
        )
    )
    result = await client.chat(ask())
    assert (result.content, result.reasoning) == ("The answer", "thinking")
    assert result.model == LOADED_LLM
    assert result.finish_reason is FinishReason.LENGTH
    assert result.usage == Usage(5, 2, 7)
    assert result.server_timings is not None
    assert result.server_timings.tokens_per_second == 55.5


async def test_chat_without_streaming_think_tags(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(text="Yes.", reasoning=["Is it?"], reasoning_mode="think_tags"))
    result = await client.chat(ask())
    assert (result.content, result.reasoning) == ("Yes.", "Is it?")


async def test_default_chat_and_complete_echo(client: LMStudioClient) -> None:
    chat = await client.chat(ask("say this back"))
    assert chat.content == "say this back"
    assert chat.finish_reason is FinishReason.STOP
    assert chat.usage == Usage(3, 3, 6)
    done = await client.complete(
        CompletionRequest(LOADED_LLM, "a b c d", SamplingParams(max_tokens=3))
    )
    assert done.content == "a b c"
    assert done.finish_reason is FinishReason.LENGTH


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.hypot(*a) / math.hypot(*b)


async def test_embeddings_are_deterministic_and_meaningful(client: LMStudioClient) -> None:
    texts = [
        "the cat sat on the mat",
        "a cat sat on a mat today",
        "quarterly revenue grew in europe",
    ]
    first = await client.embed(EMBEDDER, texts)
    again = await client.embed(EMBEDDER, texts)
    assert first.vectors == again.vectors
    assert first.model == EMBEDDER
    assert first.dimensions == 64
    assert len(first.vectors) == 3
    cat, cat2, money = first.vectors
    assert cosine(cat, cat2) > cosine(cat, money)
    assert first.usage is not None and first.usage.prompt_tokens == 6 + 7 + 5


async def test_embeddings_are_put_back_in_input_order(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    body = {
        "data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}],
        "model": EMBEDDER,
    }
    fake_server.enqueue(Reply(status=200, body=body), path="/v1/embeddings")
    result = await client.embed(EMBEDDER, ["first", "second"])
    assert result.vectors == ((1.0, 0.0), (0.0, 1.0))


async def test_exchange_hook_sees_streams_and_failures(fake_server: FakeServer) -> None:
    seen: list[Exchange] = []
    async with LMStudioClient(fake_server.base_url, token="tok-123", on_exchange=seen.append) as c:
        fake_server.enqueue(Reply(text="hi there", model="served-model"))
        await drain(c.stream_chat(ask("hi")))
        with pytest.raises(ModelNotFound):
            await c.chat(ask(model="missing"))
    ok, failed = seen
    assert (ok.method, ok.path, ok.status) == ("POST", "/v1/chat/completions", 200)
    assert (ok.model_requested, ok.model_used, ok.finish_reason) == (
        LOADED_LLM,
        "served-model",
        "stop",
    )
    assert ok.usage is not None and ok.usage.completion_tokens == 2
    assert ok.error is None
    assert ok.duration_s is not None
    assert failed.status == 404
    assert failed.error is not None and "missing" in failed.error
    assert all("tok-123" not in repr(x) for x in seen)
