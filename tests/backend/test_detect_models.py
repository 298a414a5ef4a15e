"""Capability detection, health, model listings at each API level, load and unload."""

from __future__ import annotations

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import AuthRequired, MalformedResponse, ModelNotFound, NotSupported
from lmtui.backend.types import ApiLevel, Model, ModelType, ServerKind
from tests.backend.helpers import EMBEDDER, LOADED_LLM
from tests.fake_server import FakeServer, Reply

VLM = "qwen/qwen2.5-vl-7b"
REASONER = "deepseek-r1-distill-qwen-14b"
PROBES = {"/api/v1/models", "/api/v0/models", "/v1/models"}


def by_id(models: list[Model]) -> dict[str, Model]:
    return {m.id: m for m in models}


@pytest.mark.parametrize(
    ("v1", "v0", "levels"),
    [
        (True, True, (ApiLevel.NATIVE_V1, ApiLevel.NATIVE_V0, ApiLevel.OPENAI)),
        (False, True, (ApiLevel.NATIVE_V0, ApiLevel.OPENAI)),
        (True, False, (ApiLevel.NATIVE_V1, ApiLevel.OPENAI)),
    ],
)
async def test_detect_finds_native_levels(v1: bool, v0: bool, levels: tuple[ApiLevel, ...]) -> None:
    with FakeServer(native_v1=v1, native_v0=v0) as srv:
        async with LMStudioClient(srv.base_url) as client:
            caps = await client.detect()
    assert caps.levels == levels
    assert caps.kind is ServerKind.LMSTUDIO


@pytest.mark.parametrize("style", ["json404", "plain404", "lmstudio200"])
async def test_detect_without_native_apis_degrades_to_openai(style: str) -> None:
    # LM Studio answers unknown endpoints 200 with an error body; others 404 JSON or text.
    with FakeServer(native_v1=False, native_v0=False, missing_style=style) as srv:  # type: ignore[arg-type]
        async with LMStudioClient(srv.base_url) as client:
            caps = await client.detect()
            models = await client.list_models()
    assert caps.levels == (ApiLevel.OPENAI,)
    assert caps.kind is ServerKind.OTHER
    assert {m.id for m in models} == {m.id for m in srv.models}


async def test_detect_recognises_llamacpp_listing() -> None:
    with FakeServer(native_v1=False, native_v0=False, llamacpp_listing=True) as srv:
        async with LMStudioClient(srv.base_url) as client:
            caps = await client.detect()
            models = await client.list_models()
    assert caps.kind is ServerKind.LLAMACPP
    # llama.cpp serves exactly what it lists, so every model counts as loaded.
    assert all(m.loaded is True for m in models)


async def test_detect_is_remembered(fake_server: FakeServer, client: LMStudioClient) -> None:
    first = await client.detect()
    asked = [r.path for r in fake_server.requests]
    assert set(asked) == PROBES
    again = await client.detect()
    await client.list_models(refresh=False)
    assert again is first
    assert client.capabilities is first
    assert len(fake_server.requests) == len(asked)
    await client.detect(refresh=True)
    assert len(fake_server.requests) == 2 * len(asked)


async def test_detect_rejects_a_server_that_is_not_openai_compatible(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.native_v1 = fake_server.native_v0 = False
    fake_server.enqueue(Reply(status=404, body="Cannot GET /v1/models"), path="/v1/models")
    with pytest.raises(MalformedResponse, match="not as an OpenAI-compatible server"):
        await client.detect()


async def test_detect_needs_the_token() -> None:
    with FakeServer(token="sekrit") as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(AuthRequired) as info:
                await client.detect()
    assert info.value.status == 401


async def test_health_reports_levels_and_latency(client: LMStudioClient) -> None:
    health = await client.health()
    assert health.reachable
    assert health.latency_ms is not None and health.latency_ms >= 0
    assert health.capabilities is not None
    assert health.capabilities.has(ApiLevel.NATIVE_V1)
    assert health.error is None


async def test_health_of_a_closed_port_is_unreachable_with_remedy(closed_port: int) -> None:
    async with LMStudioClient(f"http://127.0.0.1:{closed_port}") as client:
        health = await client.health()
    assert not health.reachable
    assert health.error is not None and "Cannot reach" in health.error
    assert health.remedy and "Start LM Studio" in health.remedy


async def test_native_v1_listing(client: LMStudioClient) -> None:
    models = by_id(await client.list_models())
    llm = models[LOADED_LLM]
    assert llm.type is ModelType.LLM
    assert llm.loaded is True
    assert llm.loaded_context_length == 8192
    assert llm.max_context_length == 32768
    assert llm.quantization == "Q4_K_M"
    assert llm.architecture == "qwen2"
    assert llm.size_bytes == 4_683_074_240
    assert llm.capabilities == ("tool_use",)
    assert llm.instance_ids == (LOADED_LLM,)
    assert llm.display_name == "Qwen2.5 7B Instruct"
    assert llm.params == "7B"
    vlm = models[VLM]
    assert vlm.type is ModelType.VLM
    assert vlm.is_vision
    assert vlm.loaded is False
    assert vlm.loaded_context_length is None
    assert vlm.instance_ids == ()
    assert models[EMBEDDER].type is ModelType.EMBEDDINGS
    assert models[EMBEDDER].is_embedding
    assert "reasoning" in models[REASONER].capabilities
    assert models[REASONER].quantization == "Q6_K"


async def test_native_v0_listing() -> None:
    with FakeServer(native_v1=False) as srv:
        async with LMStudioClient(srv.base_url) as client:
            models = by_id(await client.list_models())
    llm = models[LOADED_LLM]
    assert (llm.type, llm.loaded, llm.loaded_context_length) == (ModelType.LLM, True, 8192)
    assert (llm.max_context_length, llm.quantization, llm.architecture) == (
        32768,
        "Q4_K_M",
        "qwen2",
    )
    assert llm.capabilities == ("tool_use",)
    assert llm.size_bytes is None  # v0 does not say
    assert models[VLM].type is ModelType.VLM
    assert models[VLM].loaded is False
    assert models[EMBEDDER].type is ModelType.EMBEDDINGS
    assert models[EMBEDDER].loaded_context_length == 2048


async def test_openai_listing_knows_only_ids() -> None:
    with FakeServer(native_v1=False, native_v0=False) as srv:
        async with LMStudioClient(srv.base_url) as client:
            models = by_id(await client.list_models())
    assert list(models) == [m.id for m in srv.models]
    assert all(m.loaded is None for m in models.values())
    assert models[EMBEDDER].type is ModelType.EMBEDDINGS  # guessed from the id
    assert models[LOADED_LLM].publisher == "lmstudio-community"
    assert models[LOADED_LLM].max_context_length is None


async def test_listing_follows_server_changes(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    assert by_id(await client.list_models())[VLM].loaded is False
    vlm = fake_server.model(VLM)
    assert vlm is not None
    vlm.loaded = True
    assert by_id(await client.list_models())[VLM].loaded is True


async def test_load_and_unload_change_the_server_state(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    result = await client.load_model(VLM, context_length=16384, ttl=600)
    assert (result.model, result.instance_id, result.status) == (VLM, VLM, "loaded")
    assert result.load_time_s is not None
    load = fake_server.requests_to("/api/v1/models/load")[-1]
    assert load.json_body == {
        "model": VLM,
        "context_length": 16384,
        "ttl": 600,
        "echo_load_config": True,
    }
    listed = by_id(await client.list_models())[VLM]
    assert (listed.loaded, listed.loaded_context_length) == (True, 16384)

    await client.unload_model(result.instance_id)
    assert fake_server.requests_to("/api/v1/models/unload")[-1].json_body == {"instance_id": VLM}
    assert by_id(await client.list_models())[VLM].loaded is False


async def test_load_unknown_model_is_model_not_found(client: LMStudioClient) -> None:
    with pytest.raises(ModelNotFound):
        await client.load_model("no/such-model")


async def test_unload_of_an_unloaded_instance_is_an_error(client: LMStudioClient) -> None:
    with pytest.raises(ModelNotFound):
        await client.unload_model(VLM)


async def test_load_without_native_v1_is_not_supported_and_sends_nothing() -> None:
    with FakeServer(native_v1=False) as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(NotSupported, match="api/v1"):
                await client.load_model(VLM)
            with pytest.raises(NotSupported):
                await client.unload_model(LOADED_LLM)
    assert srv.requests_to("/api/v1/models/load") == []
    assert srv.requests_to("/api/v1/models/unload") == []
