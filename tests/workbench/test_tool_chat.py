"""Custom tools end to end on the fake server: calls streamed in pieces, answers, follow-ups."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ConfigError
from lmtui.services.tool_chat import ToolCallsPending, ToolConversation
from lmtui.services.tool_commands import ToolCommandError, build_argv, run_command
from lmtui.store.preset_tools import PresetTool
from lmtui.store.presets import read_preset_file, save_preset
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer, Reply

CHAT = "qwen2.5-7b-instruct"
WEATHER = PresetTool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    result="12 °C, light rain",
)


async def drain(events: object) -> None:
    async for _ in events:  # type: ignore[attr-defined]
        pass


def call_reply(*calls: dict[str, object], text: str = "") -> Reply:
    return Reply(text=text, tool_calls=list(calls), finish_reason="tool_calls")


# ---- presets --------------------------------------------------------------------------


def test_tools_in_a_preset_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        'name = "Weather"\n'
        "[[tools]]\n"
        'name = "get_weather"\n'
        'description = "Current weather"\n'
        'parameters = { type = "object", properties = { city = { type = "string" } } }\n'
        'result = "12 °C"\n'
        'command = ["curl", "-s", "wttr.in/{city}"]\n'
        "timeout = 5\n",
        "utf-8",
    )
    preset = read_preset_file(path)
    (tool,) = preset.tools
    assert tool.command == ("curl", "-s", "wttr.in/{city}") and tool.timeout_s == 5.0
    assert tool.to_request() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    again = read_preset_file(save_preset(preset, tmp_path / "out"))
    assert again.tools == preset.tools


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('command = "rm -rf {path}"', "never a shell string"),
        ('parameters = { type = "nope" }', "not a valid JSON Schema"),
        ("timeout = 0", "'timeout' must be above 0"),
        ("colour = 1", "unknown key 'colour'"),
    ],
)
def test_broken_tools_are_reported(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(f'name = "W"\n[[tools]]\nname = "t"\n{body}\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        read_preset_file(path)
    assert words in info.value.message and str(path) in info.value.message


# ---- the conversation on the wire --------------------------------------------------------


async def test_a_call_streamed_in_pieces_is_answered_and_the_model_follows_up(
    fake_server: FakeServer,
) -> None:
    fake_server.enqueue(
        call_reply({"id": "call_w1", "name": "get_weather", "arguments": {"city": "Oslo"}})
    )
    fake_server.enqueue(Reply(text="It is 12 °C and raining in Oslo."))
    async with LMStudioClient(fake_server.base_url) as client:
        chat = ToolConversation(client, CHAT, [WEATHER], system_prompt="Use tools.")
        await drain(chat.send("Weather in Oslo?"))
        (pending,) = chat.turn.calls
        assert (pending.call.id, pending.call.name) == ("call_w1", "get_weather")
        assert pending.arguments == {"city": "Oslo"} and pending.problem == ""
        with pytest.raises(ToolCallsPending):
            await drain(chat.resume())
        chat.answer("call_w1", "12 °C, raining")
        await drain(chat.resume())
    assert chat.turn.content == "It is 12 °C and raining in Oslo." and chat.turn.calls == []
    first, second = (r.json_body for r in fake_server.requests_to("/v1/chat/completions"))
    assert first["tools"] == [WEATHER.to_request()]
    # The arguments really were streamed in several pieces.
    assert len(fake_server.requests_to("/v1/chat/completions")) == 2
    assert second["messages"][-2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": "12 °C, raining"},
    ]


async def test_several_calls_in_one_reply_and_a_canned_answer(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        call_reply(
            {"name": "get_weather", "arguments": {"city": "Oslo"}},
            {"name": "get_weather", "arguments": {"city": "Bergen"}},
        )
    )
    async with LMStudioClient(fake_server.base_url) as client:
        chat = ToolConversation(client, CHAT, [WEATHER])
        await drain(chat.send("Oslo and Bergen?"))
        ids = [p.call.id for p in chat.turn.calls]
        assert [p.arguments for p in chat.turn.calls] == [{"city": "Oslo"}, {"city": "Bergen"}]
        assert all(chat.answer_canned(i) for i in ids)
        await drain(chat.resume())
    body = fake_server.requests_to("/v1/chat/completions")[1].json_body
    tools = [m for m in body["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tools] == [
        (ids[0], "12 °C, light rain"),
        (ids[1], "12 °C, light rain"),
    ]


async def test_malformed_arguments_and_unknown_tools_are_marked(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        call_reply(
            {"name": "get_weather", "arguments": '{"city": "Os'},
            {"name": "launch_rockets", "arguments": "{}"},
        )
    )
    async with LMStudioClient(fake_server.base_url) as client:
        chat = ToolConversation(client, CHAT, [WEATHER])
        await drain(chat.send("?"))
    bad, unknown = chat.turn.calls
    assert bad.arguments is None and "not valid JSON" in bad.problem
    assert unknown.tool is None and "does not define" in unknown.problem
    assert not chat.answer_canned(unknown.call.id)
    chat.answer(bad.call.id, "please send valid JSON")  # still answerable by hand


# ---- bound commands ---------------------------------------------------------------------


def _writer(marker: Path) -> PresetTool:
    code = (
        "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); "
        "print('wrote', sys.argv[2])"
    )
    return PresetTool(
        "note",
        parameters={"type": "object", "properties": {"text": {"type": "string"}}},
        command=(sys.executable, "-c", code, str(marker), "{text}"),
    )


async def test_a_bound_command_runs_only_after_confirmation(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    tool = _writer(marker)
    hostile = "x; rm -rf / $(echo no)"
    fake_server.enqueue(call_reply({"id": "c1", "name": "note", "arguments": {"text": hostile}}))
    shown: list[tuple[str, ...]] = []

    async def decline(argv: tuple[str, ...]) -> bool:
        shown.append(argv)
        return False

    async def accept(argv: tuple[str, ...]) -> bool:
        shown.append(argv)
        return True

    async with LMStudioClient(fake_server.base_url) as client:
        chat = ToolConversation(client, CHAT, [tool])
        await drain(chat.send("note it"))
        assert chat.turn.calls[0].can_run
        assert await chat.run_bound("c1", decline) is None
        assert not marker.exists() and chat.turn.calls[0].answer is None
        result = await chat.run_bound("c1", accept)
    assert result is not None and result.exit_code == 0
    # The exact argv shown is the one run; the hostile text stayed one argument.
    assert shown[0] == shown[1] == (*tool.command[:4], hostile)
    assert marker.read_text() == hostile
    assert chat.turn.calls[0].answer == f"wrote {hostile}\n"
    assert chat.turn.calls[0].source == "command"


async def test_command_time_and_output_are_bounded() -> None:
    slow = await run_command((sys.executable, "-c", "import time; time.sleep(30)"), 0.5, 100)
    assert slow.timed_out and slow.exit_code is None
    assert "[killed: time limit reached]" in slow.as_tool_result()
    loud = await run_command((sys.executable, "-c", "print('x' * 100000)"), 10, 1000)
    assert loud.truncated and len(loud.output) == 1000 and loud.exit_code == 0
    assert loud.as_tool_result().endswith("[output cut at the size limit]")


def test_a_missing_argument_leaves_no_hole_in_the_command(tmp_path: Path) -> None:
    with pytest.raises(ToolCommandError) as info:
        build_argv(_writer(tmp_path / "m"), {})
    assert "no argument 'text'" in info.value.message


async def test_calls_and_answers_are_kept_in_history_searchable_and_exported(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    from lmtui.store.history import HistoryStore
    from lmtui.store.history_export import to_json

    fake_server.enqueue(
        call_reply({"id": "w1", "name": "get_weather", "arguments": {"city": "Tromsø"}})
    )
    fake_server.enqueue(Reply(text="Snowy."))
    with HistoryStore(tmp_path / "h.sqlite3") as history:
        async with LMStudioClient(fake_server.base_url) as client:
            chat = ToolConversation(client, CHAT, [WEATHER], history=history, preset="Weather")
            await drain(chat.send("Weather up north?"))
            chat.answer("w1", "minus four and snowing")
            await drain(chat.resume())
        assert chat.history_error is None and chat.conversation_id is not None
        summary, records = history.get_conversation(chat.conversation_id)
        roles = [r.role for r in records]
        assert roles == ["user", "assistant", "assistant"]
        (call,) = records[1].tool_calls
        assert (call.id, call.name, call.provider) == ("w1", "get_weather", "model")
        assert json.loads(call.arguments) == {"city": "Tromsø"}  # as the model wrote it
        assert call.output == "minus four and snowing"
        assert records[2].content == "Snowy."
        hits = history.search("snowing")
        assert [h.conversation_id for h in hits] == [chat.conversation_id]
        exported = to_json([(summary, records)])
    assert "minus four and snowing" in exported and "get_weather" in exported


def test_ask_says_a_presets_tools_are_not_offered(
    fake_server: FakeServer, run_lmtui: RunLmtui
) -> None:
    from lmtui.store import paths

    directory = paths.presets_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "w.toml").write_text('name = "W"\n[[tools]]\nname = "get_weather"\n', "utf-8")
    done = run_lmtui("ask", "--base-url", fake_server.base_url, "--no-save", "--preset", "W", "hi")
    assert done.returncode == 0, done.stderr
    assert "defines tools (get_weather); lmtui ask does not offer them" in done.stderr
    assert "tools" not in fake_server.requests_to("/v1/chat/completions")[0].json_body


async def test_with_a_worker_a_locked_history_never_holds_up_the_tool_chat(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    import sqlite3
    import threading

    from lmtui.store.history import HistoryStore
    from lmtui.store.write_worker import WriteWorker

    fake_server.enqueue(
        call_reply({"id": "w1", "name": "get_weather", "arguments": {"city": "Oslo"}})
    )
    fake_server.enqueue(Reply(text="Rainy."))
    path = tmp_path / "h.sqlite3"
    problems: list[str] = []
    reported = threading.Event()

    def on_problem(text: str) -> None:
        problems.append(text)
        reported.set()

    worker = WriteWorker(lambda: HistoryStore(path, busy_timeout=0.05), on_problem=on_problem)
    with HistoryStore(path) as history:
        conn = history._conn
        assert conn is not None
        statements: list[str] = []
        conn.set_trace_callback(statements.append)  # the caller's connection: never used
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            async with LMStudioClient(fake_server.base_url) as client:
                chat = ToolConversation(client, CHAT, [WEATHER], history=history, writes=worker)
                await drain(chat.send("Weather in Oslo?"))
                chat.answer("w1", "rain all day")
                await drain(chat.resume())
            assert chat.conversation_id is None and statements == []  # all of it queued
            assert reported.wait(10) and "locked" in problems[0]  # said, and retried
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert worker.close(10) == 0
        assert chat.conversation_id is not None
        _, records = history.get_conversation(chat.conversation_id)
        assert [(r.role, r.content) for r in records] == [
            ("user", "Weather in Oslo?"),
            ("assistant", ""),
            ("assistant", "Rainy."),
        ]
        assert records[1].tool_calls[0].output == "rain all day"
