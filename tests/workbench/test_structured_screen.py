"""The structured output and tools screen, driven with keys against the fake server."""

from __future__ import annotations

import sys
from pathlib import Path

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import SamplingParams
from lmtui.store.preset_tools import PresetTool
from lmtui.store.presets import Preset, PresetSet
from lmtui.store.schema_files import response_format_for
from lmtui.ui.tool_confirm import ConfirmCommand
from lmtui.ui.workbench.structured import StructuredScreen, ToolCallBlock
from tests.fake_server import FakeServer, Reply
from tests.workbench.helpers import CHAT_MODEL, Host, wait_until

SCHEMA = {
    "type": "object",
    "properties": {"style": {"type": "string", "enum": ["modern", "rustic"]}},
    "required": ["style"],
}
WEATHER = PresetTool("get_weather", "Weather", result="12 °C, light rain")


def _writer(marker: Path) -> PresetTool:
    code = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); print('ok')"
    return PresetTool("note", command=(sys.executable, "-c", code, str(marker), "{text}"))


def presets(marker: Path) -> PresetSet:
    return PresetSet(
        (
            Preset(
                "Card",
                system_prompt="JSON please.",
                params=SamplingParams(response_format=response_format_for(SCHEMA, "Card")),
            ),
            Preset("Tools", tools=(WEATHER, _writer(marker))),
        )
    )


async def _open(client: LMStudioClient, marker: Path) -> Host:
    models = await client.list_models()
    return Host(
        lambda: StructuredScreen(client, models, default_model=CHAT_MODEL, presets=presets(marker))
    )


async def _ask(pilot: object, screen: StructuredScreen, preset: str, prompt: str) -> None:
    screen.query_one("#preset").value = preset  # type: ignore[attr-defined]
    screen.query_one("#prompt").value = prompt  # type: ignore[attr-defined]
    screen.query_one("#prompt").focus()
    await pilot.press("ctrl+r")  # type: ignore[attr-defined]


def _text(screen: StructuredScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_valid_and_invalid_replies_and_the_retry_key(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(text='{"style": "baroque"}'))  # then the fake follows the schema
    app = await _open(client, tmp_path / "m")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, StructuredScreen)
        await _ask(pilot, screen, "Card", "A card")
        await wait_until(pilot, lambda: "invalid" in _text(screen, "#check"))
        assert "$.style: 'baroque' is not one of" in _text(screen, "#check")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "✓ valid" in _text(screen, "#check"))
        assert '"style": "modern"' in _text(screen, "#reply")
    bodies = [r.json_body for r in fake_server.requests_to("/v1/chat/completions")]
    assert len(bodies) == 2
    assert all(b["response_format"]["json_schema"]["schema"] == SCHEMA for b in bodies)


async def test_a_tool_call_is_shown_answered_by_typing_and_the_model_follows_up(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    fake_server.enqueue(
        Reply(
            text="",
            tool_calls=[{"id": "c1", "name": "get_weather", "arguments": {"city": "Oslo"}}],
            finish_reason="tool_calls",
        )
    )
    fake_server.enqueue(Reply(text="Rainy in Oslo."))
    app = await _open(client, tmp_path / "m")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, StructuredScreen)
        await _ask(pilot, screen, "Tools", "Weather in Oslo?")
        await wait_until(pilot, lambda: len(screen.query(ToolCallBlock)) == 1)
        block = screen.query_one(ToolCallBlock)
        assert '"city": "Oslo"' in str(block.query_one(".tc-args").render())
        await pilot.press(*"11 degrees", "enter")
        await wait_until(pilot, lambda: "Rainy in Oslo." in _text(screen, "#reply"))
    second = fake_server.requests_to("/v1/chat/completions")[1].json_body
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "11 degrees"}


async def test_a_bound_command_never_runs_without_confirmation(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    call = {"id": "c9", "name": "note", "arguments": {"text": "hello; rm -rf ~"}}
    fake_server.enqueue(Reply(text="", tool_calls=[call], finish_reason="tool_calls"))
    fake_server.enqueue(Reply(text="Noted."))
    app = await _open(client, marker)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, StructuredScreen)
        await _ask(pilot, screen, "Tools", "Note hello")
        await wait_until(pilot, lambda: len(screen.query(ToolCallBlock)) == 1)
        # Asked, then refused three ways: Esc, "n", and Enter on the focused "Don't run".
        for refuse in ("escape", "n", "enter"):
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmCommand))
            dialog = app.screen
            assert isinstance(dialog, ConfirmCommand)
            shown = str(dialog.query_one("#argv").render())
            assert "'hello; rm -rf ~'" in shown and str(marker) in shown
            await pilot.press(refuse)
            await wait_until(pilot, lambda: app.screen is screen)
            assert not marker.exists()
        assert len(fake_server.requests_to("/v1/chat/completions")) == 1
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmCommand))
        await pilot.press("y")
        await wait_until(pilot, lambda: "Noted." in _text(screen, "#reply"))
    assert marker.read_text() == "hello; rm -rf ~"
    second = fake_server.requests_to("/v1/chat/completions")[1].json_body
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "c9", "content": "ok\n"}


async def test_canned_result_key_answers_the_focused_call(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    calls = [
        {"id": "a", "name": "get_weather", "arguments": {"city": "Oslo"}},
        {"id": "b", "name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    fake_server.enqueue(Reply(text="", tool_calls=calls, finish_reason="tool_calls"))
    fake_server.enqueue(Reply(text="Both done."))
    app = await _open(client, tmp_path / "m")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, StructuredScreen)
        await _ask(pilot, screen, "Tools", "Oslo and Rome?")
        await wait_until(pilot, lambda: len(screen.query(ToolCallBlock)) == 2)
        await pilot.press("ctrl+g")
        await pilot.press(*"sunny", "enter")
        await wait_until(pilot, lambda: "Both done." in _text(screen, "#reply"))
    second = fake_server.requests_to("/v1/chat/completions")[1].json_body
    answers = [(m["tool_call_id"], m["content"]) for m in second["messages"] if m["role"] == "tool"]
    assert answers == [("a", "12 °C, light rain"), ("b", "sunny")]


async def test_json_in_the_reasoning_field_is_used_with_a_note(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(text="", reasoning=['{"style": "rustic"}']))
    app = await _open(client, tmp_path / "m")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, StructuredScreen)
        await _ask(pilot, screen, "Card", "A card")
        await wait_until(pilot, lambda: "✓ valid" in _text(screen, "#check"))
        assert "reasoning field" in _text(screen, "#check")
        assert '"style": "rustic"' in _text(screen, "#reply")
