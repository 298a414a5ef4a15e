"""Compare: concurrent columns, one failing, keeping a column as a conversation."""

from __future__ import annotations

import asyncio

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import FinishReason, Model, ModelType, SamplingParams, StreamEvent
from lmtui.services.compare import CompareRun, CompareTarget
from lmtui.store.history import HistoryStore
from lmtui.store.presets import Preset
from tests.fake_server import FakeServer, Reply
from tests.workbench.helpers import CHAT_MODEL


def _targets() -> list[CompareTarget]:
    return [
        CompareTarget(CHAT_MODEL, "terse", system_prompt="Be terse.", preset="terse"),
        CompareTarget(CHAT_MODEL, "chatty", system_prompt="Be chatty."),
    ]


def _system_of(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    return str(messages[0]["content"])


async def test_columns_stream_concurrently(fake_server: FakeServer, client: LMStudioClient) -> None:
    for word in ("left", "right"):
        fake_server.enqueue(Reply(deltas=[f"{word}{i} " for i in range(6)], delta_delay=0.03))
    order: list[int] = []

    def on_event(index: int, event: StreamEvent) -> None:
        order.append(index)

    run = CompareRun(client, "Say something.", _targets())
    columns = await run.run(on_event)

    # Interleaved events: both replies were streaming at the same time.
    first_of_1 = order.index(1)
    assert 0 in order[first_of_1:]
    texts = sorted(c.result.content for c in columns)
    assert texts == [
        "left0 left1 left2 left3 left4 left5 ",
        "right0 right1 right2 right3 right4 right5 ",
    ]
    for column in columns:
        assert column.finish_reason is FinishReason.STOP
        assert column.tokens == 6
        assert column.ttft_s is not None and column.ttft_s >= 0
        assert column.tokens_per_second is not None and column.tokens_per_second > 0
    assert [_system_of(r.json_body) for r in fake_server.requests_to("/v1/chat/completions")] in (
        ["Be terse.", "Be chatty."],
        ["Be chatty.", "Be terse."],
    )


async def test_one_failing_column_does_not_stop_the_others(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    fake_server.enqueue(
        Reply(status=500, body={"error": {"message": "GPU fell over"}}, first_token_delay=0.01)
    )
    fake_server.enqueue(Reply(text="a full answer", delta_delay=0.01))
    ended: list[int] = []

    run = CompareRun(client, "Hello", _targets())
    columns = await run.run(on_end=lambda i, _c: ended.append(i))

    first = fake_server.requests_to("/v1/chat/completions")[0]
    failed_index = 0 if _system_of(first.json_body) == "Be terse." else 1
    failed, ok = columns[failed_index], columns[1 - failed_index]
    assert failed.error is not None and "GPU fell over" in failed.error.message
    assert failed.finish_reason is FinishReason.ERROR
    assert ok.error is None and ok.result.content == "a full answer"
    assert ok.finish_reason is FinishReason.STOP
    assert sorted(ended) == [0, 1]


async def test_an_unknown_model_fails_in_its_own_column(client: LMStudioClient) -> None:
    targets = [CompareTarget(CHAT_MODEL), CompareTarget("no-such-model")]
    columns = await CompareRun(client, "hi there", targets).run()
    assert columns[0].result.content == "hi there"  # the fake server echoes
    assert columns[1].error is not None
    assert "no-such-model" in columns[1].error.message


async def test_keep_saves_a_column_as_a_new_conversation(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore
) -> None:
    fake_server.enqueue(Reply(text="kept answer", model="served-model"))
    fake_server.enqueue(Reply(text="kept answer", model="served-model"))
    run = CompareRun(client, "What is kept?", _targets())
    await run.run()

    cid = run.keep(0, history)

    summary, messages = history.get_conversation(cid)
    assert summary.title == "What is kept?"
    assert summary.preset == "terse" and summary.model == CHAT_MODEL
    assert [(m.role, m.content) for m in messages] == [
        ("system", "Be terse."),
        ("user", "What is kept?"),
        ("assistant", "kept answer"),
    ]
    reply = messages[-1]
    assert reply.model_requested == CHAT_MODEL
    assert reply.model_used == "served-model"
    assert reply.finish_reason == "stop"
    assert reply.usage is not None and reply.usage["completion_tokens"] == 2
    assert reply.state == "complete"
    assert reply.server == fake_server.base_url
    assert run.columns[0].kept_as == cid


async def test_a_failed_column_without_text_cannot_be_kept(
    client: LMStudioClient, history: HistoryStore
) -> None:
    run = CompareRun(client, "x", [CompareTarget("no-such-model")])
    await run.run()
    with pytest.raises(LmtuiError, match="failed"):
        run.keep(0, history)
    assert history.list_conversations() == []


async def test_stopping_keeps_partial_text_as_stopped(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore
) -> None:
    fake_server.enqueue(Reply(deltas=["part ", "of ", "it"] * 20, delta_delay=0.05))
    run = CompareRun(client, "long one", [CompareTarget(CHAT_MODEL)])
    got_text = asyncio.Event()

    def on_event(_index: int, _event: StreamEvent) -> None:
        if run.columns[0].result.content:
            got_text.set()

    task = asyncio.create_task(run.run(on_event))
    await got_text.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    column = run.columns[0]
    assert column.finish_reason is FinishReason.STOPPED
    assert column.result.content.startswith("part ")
    _, messages = history.get_conversation(run.keep(0, history))
    assert messages[-1].state == "stopped"
    assert messages[-1].finish_reason == "stopped"


def test_a_preset_target_picks_its_model_and_carries_its_settings() -> None:
    preset = Preset(
        "Coder",
        system_prompt="Write code.",
        models=("qwen2.5-coder*",),
        params=SamplingParams(temperature=0.1),
    )
    models = [
        Model("qwen2.5-7b-instruct", loaded=True),
        Model("qwen2.5-coder-7b", loaded=True),
        Model("nomic-embed", type=ModelType.EMBEDDINGS, loaded=True),
    ]
    target = CompareTarget.from_preset(preset, models)
    assert target.model == "qwen2.5-coder-7b"
    assert target.system_prompt == "Write code."
    assert target.params.temperature == 0.1
    assert target.preset == "Coder"
    assert "Coder" in target.title
    with pytest.raises(LmtuiError, match="no models"):
        CompareTarget.from_preset(preset, [])
