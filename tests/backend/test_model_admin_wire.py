"""Load options and echoed configs, several instances, "loading", JIT listings, downloads."""

from __future__ import annotations

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import AuthRequired, ModelNotFound, NotSupported, ServerError
from lmtui.backend.types import ApiLevel, LoadConfig, Model
from tests.backend.helpers import LOADED_LLM
from tests.fake_models_admin import add_catalog, mark_loading, set_jit
from tests.fake_server import AUTH_BODY, FakeModel, FakeServer

VLM = "qwen/qwen2.5-vl-7b"
REASONER = "deepseek-r1-distill-qwen-14b"


def by_id(models: list[Model]) -> dict[str, Model]:
    return {m.id: m for m in models}


async def test_load_sends_only_the_options_given_and_reads_the_applied_config(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    options = LoadConfig(context_length=16384, flash_attention=True, offload_kv_cache_to_gpu=False)
    result = await client.load_model(REASONER, options)
    sent = fake_server.requests_to("/api/v1/models/load")[-1].json_body
    assert sent == {
        "model": REASONER,
        "context_length": 16384,
        "flash_attention": True,
        "offload_kv_cache_to_gpu": False,
        "echo_load_config": True,
    }
    # The server fills in what was not asked for (its engine defaults).
    assert result.config == LoadConfig(
        context_length=16384,
        eval_batch_size=512,
        flash_attention=True,
        offload_kv_cache_to_gpu=False,
    )
    assert result.load_time_s == pytest.approx(1.25)


async def test_a_second_load_is_a_second_instance_with_its_own_context(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    second = await client.load_model(LOADED_LLM, LoadConfig(context_length=16384))
    assert second.instance_id == f"{LOADED_LLM}:2"
    llm = by_id(await client.list_models())[LOADED_LLM]
    assert [(i.id, i.config.context_length) for i in llm.instances] == [
        (LOADED_LLM, 8192),
        (f"{LOADED_LLM}:2", 16384),
    ]
    assert llm.instance_ids == (LOADED_LLM, f"{LOADED_LLM}:2")
    assert llm.loaded_context_length == 8192  # the first instance speaks for the model
    await client.unload_model(LOADED_LLM)
    llm = by_id(await client.list_models())[LOADED_LLM]
    assert [(i.id, i.config.context_length) for i in llm.instances] == [(f"{LOADED_LLM}:2", 16384)]
    assert llm.loaded is True


async def test_loading_state_at_both_native_levels(fake_server: FakeServer) -> None:
    mark_loading(fake_server, VLM)
    async with LMStudioClient(fake_server.base_url) as client:
        v1 = by_id(await client.list_models())[VLM]
        v0 = await client.listed_at(ApiLevel.NATIVE_V0)
    assert v1.state == "loading"
    assert v0 is not None and by_id(v0)[VLM].state == "loading"
    assert by_id(v0)[LOADED_LLM].state == "loaded"
    assert by_id(v0)[REASONER].state == "not-loaded"


async def test_jit_off_hides_unloaded_models_below_api_v1(fake_server: FakeServer) -> None:
    set_jit(fake_server, False)
    async with LMStudioClient(fake_server.base_url) as client:
        v1 = await client.listed_at(ApiLevel.NATIVE_V1)
        v0 = await client.listed_at(ApiLevel.NATIVE_V0)
        openai = await client.listed_at(ApiLevel.OPENAI)
    assert v1 is not None and VLM in by_id(v1)
    assert v0 is not None and openai is not None
    loaded = {m.id for m in fake_server.models if m.loaded}
    assert set(by_id(v0)) == loaded == set(by_id(openai))


async def test_load_beyond_the_model_maximum_is_refused(client: LMStudioClient) -> None:
    with pytest.raises(ServerError, match="exceeds"):
        await client.load_model(VLM, LoadConfig(context_length=10_000_000))


async def test_download_runs_to_completion_and_the_model_is_listed(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    add_catalog(fake_server, "some/model", FakeModel("some/model", size_bytes=8_000), steps=3)
    job = await client.download_model("some/model", quantization="Q4_K_M")
    assert fake_server.requests_to("/api/v1/models/download")[-1].json_body == {
        "model": "some/model",
        "quantization": "Q4_K_M",
    }
    assert job.status == "queued" and job.job_id and not job.finished
    seen = [job.status]
    while not job.finished:
        assert job.job_id is not None
        job = await client.download_status("some/model", job.job_id)
        seen.append(job.status)
        if job.status == "downloading":
            assert job.total_bytes == 8_000 and job.downloaded_bytes is not None
            assert job.bytes_per_second and job.eta_seconds() is not None
    assert seen == ["queued", "downloading", "downloading", "completed"]
    assert job.succeeded and job.fraction == 1.0 and job.completed_at is not None
    assert "some/model" in by_id(await client.list_models())


async def test_download_of_a_model_already_there(client: LMStudioClient) -> None:
    job = await client.download_model(LOADED_LLM)
    assert (job.status, job.job_id, job.succeeded) == ("already_downloaded", None, True)


async def test_download_failure_is_a_status(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    add_catalog(fake_server, "bad/model", FakeModel("bad/model"), steps=5, fail_at=2)
    job = await client.download_model("bad/model")
    assert job.job_id is not None
    statuses = [(await client.download_status("bad/model", job.job_id)).status for _ in range(3)]
    assert statuses == ["downloading", "failed", "failed"]


async def test_download_of_an_unknown_job_or_model(client: LMStudioClient) -> None:
    with pytest.raises(ServerError):
        await client.download_status("x", "job_nope")
    with pytest.raises((ServerError, ModelNotFound)):
        await client.download_model("nobody/nothing")


async def test_download_needs_api_v1() -> None:
    with FakeServer(native_v1=False) as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(NotSupported, match="api/v1"):
                await client.download_model("some/model")
        assert srv.requests_to("/api/v1/models/download") == []


async def test_missing_token_is_lmstudio_auth_error() -> None:
    with FakeServer(token="t0ken") as srv:
        async with LMStudioClient(srv.base_url) as client:
            with pytest.raises(AuthRequired) as caught:
                await client.list_models()
    assert caught.value.status == 401
    assert caught.value.server_message == AUTH_BODY["error"]["message"]
