"""Every typed error, from every error shape a server sends, over real HTTP."""

from __future__ import annotations

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import (
    AuthRequired,
    ContextOverflow,
    LmtuiError,
    MalformedResponse,
    ModelLoading,
    ModelNotFound,
    NoModelLoaded,
    NotSupported,
    ServerError,
    ServerUnreachable,
)
from lmtui.backend.types import CompletionRequest
from tests.backend.helpers import EMBEDDER, LOADED_LLM, ask, drain
from tests.fake_server import ERROR_SHAPES, FakeServer, Reply

EXPECTED: dict[str, type[LmtuiError]] = {
    "MODEL_NOT_FOUND": ModelNotFound,
    "MODEL_NOT_FOUND_400": ModelNotFound,
    "MODEL_NOT_FOUND_OLD": ModelNotFound,
    "NO_MODELS_LOADED": NoModelLoaded,
    "NO_MODELS_LOADED_FLAT": NoModelLoaded,
    "CONTEXT_OVERFLOW_LMSTUDIO": ContextOverflow,
    "CONTEXT_OVERFLOW_LMSTUDIO_200": ContextOverflow,
    "CONTEXT_OVERFLOW_LLAMACPP": ContextOverflow,
    "LOADING_503": ModelLoading,
    "EMBEDDINGS_501": NotSupported,
    "AUTH_401": AuthRequired,
    "PLAIN_500": ServerError,
    "HTML_502": ServerError,
    "EMPTY_503": ServerError,
}


def test_every_error_shape_has_an_expectation() -> None:
    assert set(EXPECTED) == set(ERROR_SHAPES)


@pytest.mark.parametrize("shape", sorted(ERROR_SHAPES))
async def test_error_shape_streaming(
    fake_server: FakeServer, client: LMStudioClient, shape: str
) -> None:
    fake_server.enqueue(ERROR_SHAPES[shape])
    with pytest.raises(LmtuiError) as info:
        await drain(client.stream_chat(ask()))
    assert type(info.value) is EXPECTED[shape]
    assert info.value.remedy
    reply = ERROR_SHAPES[shape]
    assert info.value.status == reply.status  # None for the HTTP-200 error body


@pytest.mark.parametrize("shape", sorted(ERROR_SHAPES))
async def test_error_shape_not_streaming(
    fake_server: FakeServer, client: LMStudioClient, shape: str
) -> None:
    fake_server.enqueue(ERROR_SHAPES[shape])
    with pytest.raises(LmtuiError) as info:
        await client.chat(ask())
    assert type(info.value) is EXPECTED[shape]


@pytest.mark.parametrize("shape", ["MODEL_NOT_FOUND", "LOADING_503", "PLAIN_500"])
async def test_error_shape_on_completions(
    fake_server: FakeServer, client: LMStudioClient, shape: str
) -> None:
    fake_server.enqueue(ERROR_SHAPES[shape])
    with pytest.raises(EXPECTED[shape]):
        await drain(client.stream_complete(CompletionRequest(LOADED_LLM, "p")))


async def test_llamacpp_overflow_carries_the_sizes(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(ERROR_SHAPES["CONTEXT_OVERFLOW_LLAMACPP"])
    with pytest.raises(ContextOverflow) as info:
        await drain(client.stream_chat(ask()))
    assert (info.value.prompt_tokens, info.value.context_length) == (2031, 512)
    assert "2031" in info.value.message and "512" in info.value.message


async def test_server_errors_keep_the_server_message(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(ERROR_SHAPES["PLAIN_500"])
    with pytest.raises(ServerError) as info:
        await client.chat(ask())
    assert info.value.status == 500
    assert info.value.server_message == "Internal Server Error"
    assert "HTTP 500" in info.value.message


# ---- errors the fake server produces itself, as LM Studio would ---------------------------


async def test_unknown_model(client: LMStudioClient) -> None:
    with pytest.raises(ModelNotFound) as info:
        await drain(client.stream_chat(ask(model="no-such-model")))
    assert "no-such-model" in info.value.message
    assert info.value.status == 404
    with pytest.raises(ModelNotFound):
        await client.chat(ask(model="no-such-model"))


async def test_no_model_loaded(fake_server: FakeServer, client: LMStudioClient) -> None:
    for m in fake_server.models:
        m.loaded = False
    with pytest.raises(NoModelLoaded) as info:
        await drain(client.stream_chat(ask()))
    assert "lms load" in info.value.remedy
    with pytest.raises(NoModelLoaded):
        await client.complete(CompletionRequest(LOADED_LLM, "p"))


async def test_jit_loads_a_known_model_on_request() -> None:
    with FakeServer(jit=True) as srv:
        for m in srv.models:
            m.loaded = False
        async with LMStudioClient(srv.base_url) as client:
            _, result = await drain(client.stream_chat(ask("hi")))
    assert result.content == "hi"
    model = srv.model(LOADED_LLM)
    assert model is not None and model.loaded


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_auth_required(token: str | None) -> None:
    with FakeServer(token="sekrit") as srv:
        async with LMStudioClient(srv.base_url, token=token) as client:
            with pytest.raises(AuthRequired) as stream_info:
                await drain(client.stream_chat(ask()))
            with pytest.raises(AuthRequired):
                await client.chat(ask())
            with pytest.raises(AuthRequired):
                await client.embed(EMBEDDER, ["x"])
    assert stream_info.value.status == 401
    assert "LMTUI_API_TOKEN" in stream_info.value.remedy


async def test_embeddings_not_enabled() -> None:
    with FakeServer(embeddings_enabled=False) as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(NotSupported) as info:
                await client.embed(EMBEDDER, ["x"])
    assert info.value.status == 501


async def test_embeddings_with_an_unknown_model(client: LMStudioClient) -> None:
    with pytest.raises(ModelNotFound):
        await client.embed("nope", ["x"])


async def test_server_unreachable_on_a_closed_port(closed_port: int) -> None:
    async with LMStudioClient(f"http://127.0.0.1:{closed_port}") as client:
        with pytest.raises(ServerUnreachable) as info:
            await drain(client.stream_chat(ask()))
        assert "refused" in info.value.message
        assert info.value.exit_code == 3
        with pytest.raises(ServerUnreachable):
            await client.chat(ask())
        with pytest.raises(ServerUnreachable):
            await client.detect()
        with pytest.raises(ServerUnreachable):
            await client.embed(EMBEDDER, ["x"])


# ---- answers that are not the API's shape ------------------------------------------------


async def test_non_json_200_is_malformed(fake_server: FakeServer, client: LMStudioClient) -> None:
    fake_server.enqueue(Reply(status=200, body="hello, I am a web page", content_type="text/plain"))
    with pytest.raises(MalformedResponse):
        await client.chat(ask())
    fake_server.enqueue(Reply(status=200, body="hello, I am a web page", content_type="text/plain"))
    with pytest.raises(MalformedResponse, match="not a stream"):
        await drain(client.stream_chat(ask()))


async def test_json_without_choices_is_malformed(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(status=200, body={"id": "x", "object": "chat.completion"}))
    with pytest.raises(MalformedResponse, match="no choices"):
        await client.chat(ask())


async def test_embeddings_answer_with_missing_rows_is_malformed(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    body = {"data": [{"index": 0, "embedding": [1.0, 0.0]}], "model": EMBEDDER}
    fake_server.enqueue(Reply(status=200, body=body), path="/v1/embeddings")
    with pytest.raises(MalformedResponse, match="Asked for 2 embeddings, got 1"):
        await client.embed(EMBEDDER, ["a", "b"])


async def test_embeddings_answer_without_data_is_malformed(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(Reply(status=200, body={"object": "list"}), path="/v1/embeddings")
    with pytest.raises(MalformedResponse):
        await client.embed(EMBEDDER, ["a"])
