"""A conversation over LM Studio's /api/v1/chat: chaining, every fallback rule, history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import RouteReport, SamplingParams, StreamEvent
from lmtui.services.chat import ChatSession
from lmtui.services.native_route import NO_NATIVE_CHAT, RESTARTED
from lmtui.store.history import HistoryStore
from tests.fake_native_chat import FakeToolCall, NativeReply, native
from tests.fake_server import FakeServer

LOADED = "qwen2.5-7b-instruct"
NATIVE = "/api/v1/chat"
OPENAI = "/v1/chat/completions"


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeServer:
    fake_server.native_chat = True
    return fake_server


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        yield store


async def run(events: object) -> list[StreamEvent]:
    return [e async for e in events]  # type: ignore[attr-defined]


def routes(events: list[StreamEvent]) -> list[tuple[bool, str]]:
    return [(e.native, e.reason) for e in events if isinstance(e, RouteReport)]


async def test_three_turns_chain_and_regenerate_chains_from_the_first(
    fake: FakeServer, history: HistoryStore
) -> None:
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED, system_prompt="Be brief.", history=history)
        for word in ("one", "two", "three"):
            await run(chat.send(word))
        assert [e.content for e in chat.entries[1::2]] == [
            "turn 1: one",
            "turn 2: two",
            "turn 3: three",
        ]
        bodies = [r.json_body for r in fake.requests_to(NATIVE)]
        assert fake.requests_to(OPENAI) == []
        ids = [e.extras.response_id for e in chat.entries[1::2]]
        assert [b.get("previous_response_id") for b in bodies] == [None, ids[0], ids[1]]
        # The system prompt goes with the first turn only: LM Studio keeps it with the chain.
        assert [b.get("system_prompt") for b in bodies] == ["Be brief.", None, None]
        assert [b["input"] for b in bodies] == ["one", "two", "three"]

        # Regenerating the second turn: drop it and the third, chain from the first reply.
        await run(chat.edit_and_resend(2, "two again"))
        assert fake.requests_to(NATIVE)[-1].json_body["previous_response_id"] == ids[0]
        assert chat.entries[-1].content == "turn 2: two again"
        await run(chat.regenerate())
        assert fake.requests_to(NATIVE)[-1].json_body["previous_response_id"] == ids[0]
        assert chat.entries[-1].content == "turn 2: two again"
        assert chat.entries[-1].extras.route == "native: chained from the previous reply"

        # History keeps each reply's id, its server and the route.
        stored = history.get_conversation(chat.conversation_id or 0)[1]
        assert stored[-1].response_id == chat.entries[-1].extras.response_id
        assert stored[-1].response_server == fake.base_url
        assert stored[-1].route == "native: chained from the previous reply"


async def test_reopened_after_a_restart_falls_back_on_its_own(
    fake: FakeServer, history: HistoryStore
) -> None:
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED, history=history)
        await run(chat.send("remember platypus"))
        cid = chat.conversation_id
    native(fake).restart()
    async with LMStudioClient(fake.base_url) as client:
        reopened = ChatSession(client, model=LOADED, history=history)
        reopened.load(cid or 0)
        events = await run(reopened.send("what animal?"))
        # No id came back: the next turn goes on the OpenAI path with the whole transcript.
        later = await run(reopened.send("and then?"))
    assert routes(later)[0][0] is False
    assert len(fake.requests_to(OPENAI)) == 2
    # Tried natively with the stored id, told it is unknown, resent whole on the OpenAI path.
    assert routes(events) == [(True, "chained from the previous reply"), (False, RESTARTED)]
    sent = fake.requests_to(OPENAI)[0].json_body["messages"]
    assert [m["content"] for m in sent] == [
        "remember platypus",
        "turn 1: remember platypus",
        "what animal?",
    ]
    reply = reopened.entries[-3]
    assert reply.content == "what animal?" and reply.error is None and reply.state == "complete"
    assert reply.extras.route == f"openai: {RESTARTED}"


@pytest.mark.parametrize("style", ["http", "event"])
async def test_unknown_id_in_either_form_is_retried_once(fake: FakeServer, style: str) -> None:
    native(fake).unknown_id_style = style
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        await run(chat.send("a"))
        native(fake).restart()
        await run(chat.send("b"))
    assert len(fake.requests_to(OPENAI)) == 1
    assert chat.entries[-1].content == "b" and chat.entries[-1].error is None


async def test_a_request_needing_stop_goes_openai(fake: FakeServer) -> None:
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED, params=SamplingParams(stop=("END",)))
        events = await run(chat.send("x"))
    assert routes(events) == [(False, "/api/v1/chat does not take stop")]
    assert fake.requests_to(NATIVE) == []


async def test_off_mode_never_asks_native(fake: FakeServer) -> None:
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        chat.native_mode = "off"
        await run(chat.send("x"))
    assert fake.requests_to(NATIVE) == [] and len(fake.requests_to(OPENAI)) == 1
    assert not [r for r in fake.requests if r.path.startswith("/api/")]


async def test_on_mode_against_a_plain_v1_server_explains(fake: FakeServer) -> None:
    fake.native_v1 = fake.native_v0 = False
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        chat.native_mode = "on"
        with pytest.raises(LmtuiError, match='native_chat is "on"'):
            await run(chat.send("x"))
        chat.native_mode = "auto"
        events = await run(chat.send("y"))
    assert routes(events)[0][0] is False
    assert chat.entries[-1].content == "y"


async def test_server_without_api_v1_chat_is_remembered(fake_server: FakeServer) -> None:
    # /api/v1/models answers but /api/v1/chat does not: one try, then the OpenAI path only.
    async with LMStudioClient(fake_server.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        first = await run(chat.send("a"))
        second = await run(chat.send("b"))
    assert routes(first) == [
        (True, "a new conversation on LM Studio's /api/v1/chat"),
        (False, NO_NATIVE_CHAT),
    ]
    assert routes(second) == [(False, "the server does not offer LM Studio's /api/v1/chat")]
    assert len(fake_server.requests_to(NATIVE)) == 1
    assert chat.entries[-1].content == "b"


async def test_tool_calls_and_load_time_are_kept(fake: FakeServer, history: HistoryStore) -> None:
    call = FakeToolCall(
        tool="search_docs", arguments={"q": "okapi"}, output="Okapis are giraffids."
    )
    native(fake).enqueue(NativeReply(text="Found it.", tool_calls=(call,), load_steps=(1.0,)))
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED, history=history)
        await run(chat.send("find okapi"))
    reply = chat.entries[-1]
    assert [c.name for c in reply.extras.tool_calls] == ["search_docs"]
    assert reply.extras.load_seconds == 2.5
    assert reply.extras.server_stats is not None
    stored = history.get_conversation(chat.conversation_id or 0)[1][-1]
    assert stored.tool_calls == tuple(reply.extras.tool_calls)
    assert stored.load_seconds == 2.5 and stored.prompt_seconds is not None
    assert [h.conversation_id for h in history.search("giraffids")] == [chat.conversation_id]


async def test_stopping_during_a_load_keeps_the_prompt_and_no_empty_reply(
    fake: FakeServer, history: HistoryStore
) -> None:
    native(fake).enqueue(NativeReply(load_steps=(0.1, 0.2, 0.3), step_delay=1.0))
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model="deepseek-r1-distill-qwen-14b", history=history)
        stream = chat.send("slow one")
        async for event in stream:
            if type(event).__name__ == "LoadProgress":
                break
        await stream.aclose()
    stored = history.get_conversation(chat.conversation_id or 0)[1]
    assert [(m.role, m.content) for m in stored] == [("user", "slow one")]
    assert chat.entries[-1].state == "stopped"


async def test_close_only_think_tag_is_split_on_the_openai_path(fake: FakeServer) -> None:
    from tests.fake_server import Reply

    fake.enqueue(Reply(deltas=["The user wants ", "a number.", "</think>", "42"]))
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        chat.native_mode = "off"
        await run(chat.send("pick"))
    reply = chat.entries[-1]
    assert (reply.reasoning, reply.content) == ("The user wants a number.", "42")


async def test_reasoning_effort_only_to_lm_studio_on_the_openai_path(fake: FakeServer) -> None:
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        chat.native_mode = "off"
        chat.reasoning = "high"
        await client.detect()
        await run(chat.send("x"))
    assert fake.requests_to(OPENAI)[-1].json_body["reasoning_effort"] == "high"

    fake.native_v1 = fake.native_v0 = False  # now a plain OpenAI-compatible server
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        chat.reasoning = "high"
        await client.detect()
        await run(chat.send("y"))
    assert "reasoning_effort" not in fake.requests_to(OPENAI)[-1].json_body


async def test_mcp_headers_never_reach_history_or_the_inspector(
    fake: FakeServer, history: HistoryStore
) -> None:
    from lmtui.backend.native_chat import Integration

    secret = "Bearer hf_TOPSECRET"
    server = Integration(
        server_label="hf", server_url="https://hf.co/mcp", headers={"Authorization": secret}
    )
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED, history=history)
        chat.integrations = (server,)
        await run(chat.send("x"))
    sent = fake.requests_to(NATIVE)[-1].json_body["integrations"][0]["headers"]
    assert sent == {"Authorization": secret}
    assert secret not in str(chat.entries[-1].request_json)
    assert secret not in history.export(None, "json")
    for suffix in ("", "-wal"):
        stored = history.path.with_name(history.path.name + suffix)
        assert not stored.exists() or secret.encode() not in stored.read_bytes()
    assert secret not in repr(chat.integrations)


async def test_continue_chains_from_the_reply_it_continues(fake: FakeServer) -> None:
    from lmtui.services.chat import CONTINUE_PROMPT

    native(fake).enqueue(NativeReply(text="Part one."))
    native(fake).enqueue(NativeReply(text=" Part two."))
    async with LMStudioClient(fake.base_url) as client:
        chat = ChatSession(client, model=LOADED)
        await run(chat.send("write"))
        first_id = chat.entries[-1].extras.response_id
        await run(chat.continue_reply())
    body = fake.requests_to(NATIVE)[-1].json_body
    assert body["previous_response_id"] == first_id and body["input"] == CONTINUE_PROMPT
    reply = chat.entries[-1]
    assert reply.content == "Part one. Part two."
    assert reply.extras.response_id not in (None, first_id)
