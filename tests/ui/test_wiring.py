"""Every screen wired into the chat app: its key opens it, Esc closes it, its result applies.

All against the fake server over real HTTP, driven with Pilot.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen

from lmtui.cli import build_parser
from lmtui.services.chat import COMPLETE, STOPPED
from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
from lmtui.ui.help import HelpScreen
from lmtui.ui.history_browser import HistoryBrowser
from lmtui.ui.inspector_screen import InspectorScreen
from lmtui.ui.keymap import help_rows, known_key_ids, palette_entries
from lmtui.ui.launch import LaunchPlan, build_app
from lmtui.ui.param_panel import ParamPanel
from lmtui.ui.preset_picker import PresetPicker
from lmtui.ui.server_switcher import ServerSwitcher
from lmtui.ui.theme_picker import ThemePicker
from lmtui.ui.troubleshoot import TroubleshootScreen
from lmtui.ui.workbench import workbench_screens
from lmtui.ui.workbench_menu import WorkbenchMenu
from tests.conftest import IsolatedDirs
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]

SCREEN_KEYS: list[tuple[str, type[Screen[Any]]]] = [
    ("f1", HelpScreen),
    ("f3", PresetPicker),
    ("f4", ParamPanel),
    ("f5", TroubleshootScreen),
    ("f6", HistoryBrowser),
    ("f7", ThemePicker),
    ("f8", WorkbenchMenu),
    ("alt+s", ServerSwitcher),
]


def last_chat(fake: FakeServer) -> dict[str, Any]:
    """The JSON body of the last request, which must be a chat request."""
    last = fake.requests[-1]
    assert last.path == "/v1/chat/completions"
    body: dict[str, Any] = last.json_body
    return body


def slow_reply() -> Reply:
    return Reply(deltas=[f"word{i} " for i in range(400)], delta_delay=0.02)


async def start_streaming(pilot: Any, app: LmtuiApp) -> None:
    await send(pilot, "Talk for a long time")
    await wait_until(
        pilot,
        lambda: (
            len(app.chat_screen.session.entries) == 2
            and bool(app.chat_screen.session.entries[1].content)
        ),
    )


async def close_top_screen(pilot: Any, app: LmtuiApp) -> None:
    """Let the screen on top finish mounting, then close it with Esc."""
    await pilot.pause()
    await pilot.pause()
    await pilot.press("escape")
    await wait_until(pilot, lambda: app.screen is app.chat_screen)


@pytest.mark.parametrize(("key", "screen_type"), SCREEN_KEYS, ids=[k for k, _ in SCREEN_KEYS])
async def test_each_key_opens_its_screen_and_esc_closes_it_without_stopping_the_reply(
    fake: FakeServer, make_app: AppFactory, key: str, screen_type: type[Screen[Any]]
) -> None:
    fake.enqueue(slow_reply())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await start_streaming(pilot, app)
        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, screen_type))
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        assert app.chat_screen.streaming, "Esc in a screen must close it, not stop the reply"
        assert app.chat_screen.session.entries[1].state != STOPPED
        # With nothing open, Esc stops the reply again.
        await pilot.press("escape")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[1]
        assert reply.state == STOPPED
        assert reply.content.startswith("word0 ")


async def test_sql_preset_from_f3_sets_the_next_requests_temperature(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="SELECT 1;"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, PresetPicker))
        await pilot.press(*"SQL", "enter")
        await wait_until(pilot, lambda: app.chat_screen.session.preset == "SQL")
        await wait_until(pilot, lambda: app.chat_screen.status.preset == "SQL")
        assert app.chat_screen.status.note  # the model choice is said, never silent
        await send(pilot, "Count the users")
        await wait_idle(pilot)
        body = last_chat(fake)
        assert body["temperature"] == 0.1
        # The SQL preset has no system prompt of its own: only the question is sent.
        assert body["messages"] == [{"role": "user", "content": "Count the users"}]
        assert body["model"] == "test-model"  # sqlcoder is not on this server: kept, and said
        assert "sqlcoder-7b-2" in app.chat_screen.status.note


async def test_a_preset_with_a_model_and_system_prompt_switches_both(
    fake: FakeServer, make_app: AppFactory, isolated_dirs: IsolatedDirs
) -> None:
    presets = isolated_dirs.config / "lmtui" / "presets"
    presets.mkdir(parents=True)
    (presets / "reasoner.toml").write_text(
        'name = "Reasoner"\n'
        'system_prompt = "Think step by step."\n'
        'models = ["deepseek-r1-distill-qwen-14b"]\n'
        "[params]\ntemperature = 0.4\ntop_p = 0.9\n",
        encoding="utf-8",
    )
    fake.enqueue(Reply(content="Step one."))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, PresetPicker))
        await pilot.press(*"reasoner", "enter")
        await wait_until(pilot, lambda: app.chat_screen.status.preset == "Reasoner")
        assert app.chat_screen.session.model == "deepseek-r1-distill-qwen-14b"
        assert app.chat_screen.status.model == "deepseek-r1-distill-qwen-14b"
        assert "deepseek-r1-distill-qwen-14b" in app.chat_screen.status.note
        await send(pilot, "Plan it")
        await wait_idle(pilot)
        body = last_chat(fake)
        assert body["model"] == "deepseek-r1-distill-qwen-14b"
        assert body["temperature"] == 0.4 and body["top_p"] == 0.9
        assert body["messages"] == [
            {"role": "system", "content": "Think step by step."},
            {"role": "user", "content": "Plan it"},
        ]


@pytest.mark.parametrize(
    ("query", "screen_name"),
    [
        ("Switch server", "ServerSwitcher"),
        ("Save current settings", "PresetEditor"),
        ("Change theme", "ThemePicker"),
        ("compare models", "CompareScreen"),
    ],
)
async def test_the_command_palette_opens_the_new_screens(
    make_app: AppFactory, query: str, screen_name: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*query)
        await pilot.pause(0.2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == screen_name)
        await close_top_screen(pilot, app)


async def test_f4_changes_a_parameter_and_the_system_prompt_of_the_next_request(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="ok"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ParamPanel))
        panel = app.screen
        assert isinstance(panel, ParamPanel)
        panel.fields.row("temperature").set_text("0.7")
        panel.fields.row("max_tokens").set_text("64")
        panel.query_one("#param-system-prompt").load_text("Answer in one line.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        await send(pilot, "hello")
        await wait_idle(pilot)
        body = last_chat(fake)
        assert body["temperature"] == 0.7
        assert body["max_tokens"] == 64
        assert body["messages"][0] == {"role": "system", "content": "Answer in one line."}


async def test_f4_cancel_changes_nothing(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="ok"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ParamPanel))
        panel = app.screen
        assert isinstance(panel, ParamPanel)
        panel.fields.row("temperature").set_text("1.5")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        await send(pilot, "hello")
        await wait_idle(pilot)
        assert "temperature" not in last_chat(fake)


async def test_f6_opens_history_and_enter_opens_a_conversation(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="The first answer."))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "The first question")
        await wait_idle(pilot)
        first_id = app.chat_screen.session.conversation_id
        assert first_id is not None
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not app.chat_screen.session.entries)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryBrowser))
        browser = app.screen
        assert isinstance(browser, HistoryBrowser)
        await wait_until(pilot, lambda: browser.highlighted_id() == first_id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat_screen.session.conversation_id == first_id)
        assert app.screen is app.chat_screen
        assert [e.content for e in app.chat_screen.session.entries] == [
            "The first question",
            "The first answer.",
        ]
        assert [w.entry.content for w in app.chat_screen.chat.message_widgets()] == [
            "The first question",
            "The first answer.",
        ]


async def test_f6_without_history_says_so(make_app: AppFactory) -> None:
    app = make_app(save_history=False)
    async with app.run_test() as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert app.screen is app.chat_screen
        assert any("History is off" in n.message for n in app._notifications)


async def test_f5_shows_the_panel_with_this_apps_requests(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="hi there"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "hi")
        await wait_idle(pilot)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, TroubleshootScreen))
        panel = app.screen
        assert isinstance(panel, TroubleshootScreen)
        await wait_until(pilot, lambda: panel.checks >= 1)
        assert panel.diagnosis is not None and panel.diagnosis.health.reachable
        assert panel.request_log is app.request_log
        chats = [ex for ex in app.request_log if ex.path.endswith("/chat/completions")]
        assert chats and chats[-1].model_requested == "test-model"


async def test_x_inspects_the_request_behind_the_last_reply(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="an answer"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "what was sent?")
        await wait_idle(pilot)
        await pilot.press("ctrl+up")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        assert inspector.request is not None
        assert inspector.request["messages"][-1]["content"] == "what was sent?"
        sent = last_chat(fake)
        assert inspector.request["model"] == sent["model"]
        assert inspector.request["messages"] == sent["messages"]
        assert "an answer" in inspector.received_text()
        assert "Authorization" not in (inspector.snippet("curl") or "")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)


async def test_inspect_from_the_palette_with_no_reply_says_so(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await app.run_action("inspect_message", app.screen)  # as the palette runs it
        await pilot.pause()
        assert app.screen is app.chat_screen
        assert any("No reply" in n.message for n in app._notifications)


async def test_theme_change_through_the_picker_is_applied_and_saved(
    make_app: AppFactory, isolated_dirs: IsolatedDirs
) -> None:
    app = make_app(theme="lmtui-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == "lmtui-dark"
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker))
        await pilot.press(*"gruvbox", "enter")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        assert app.theme == "lmtui-gruvbox"
    saved = tomllib.loads(isolated_dirs.config_file.read_text("utf-8"))
    assert saved["theme"] == "lmtui-gruvbox"


async def test_configured_theme_is_applied_and_an_unknown_one_is_reported(
    make_app: AppFactory,
) -> None:
    app = make_app(theme="lmtui-solarized-light")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "lmtui-solarized-light"
    app = make_app(theme="no-such-theme")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "lmtui-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


@pytest.mark.parametrize("tool", list(workbench_screens()))
async def test_workbench_menu_opens_each_tool(
    fake: FakeServer, make_app: AppFactory, tool: str
) -> None:
    tools = list(workbench_screens())
    _title, screen_type = workbench_screens()[tool]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkbenchMenu))
        await pilot.press(*["down"] * tools.index(tool), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, screen_type))
        opened = app.screen
        assert opened.client is app.client  # type: ignore[attr-defined]
        assert [m.id for m in opened.models] == [m.id for m in app.chat_screen.sidebar.models]  # type: ignore[attr-defined]
        await close_top_screen(pilot, app)


async def test_palette_entry_opens_a_workbench_tool(fake: FakeServer, make_app: AppFactory) -> None:
    entries = {action: title for title, action, _ in palette_entries()}
    action = "open_workbench_tool('compare')"
    assert action in entries
    _title, screen_type = workbench_screens()["compare"]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.run_action(action, app.screen)  # as the palette runs it
        await wait_until(pilot, lambda: isinstance(app.screen, screen_type))
        await close_top_screen(pilot, app)


async def test_help_lists_the_new_actions(make_app: AppFactory) -> None:
    rows = {(key, description) for key, description, _ in help_rows()}
    for expected in [
        ("F3", "Choose a preset"),
        ("F4", "Parameters and system prompt"),
        ("F5", "Troubleshooting: server health"),
        ("F6", "History: browse and search"),
        ("F7", "Change theme"),
        ("F8", "Workbench tools"),
        ("Alt+S", "Switch server"),
        ("x", "Inspect request"),
    ]:
        assert expected in rows
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        shown = {d for _, d, _ in app.screen.rows}
        assert {"Choose a preset", "Switch server", "Inspect request"} <= shown


async def test_history_key_ids_are_accepted_in_keys_config(make_app: AppFactory) -> None:
    assert {"history.open", "health", "preset", "servers", "inspect_message"} <= known_key_ids()
    app = make_app(keys={"history.rename": "n", "theme": "f9", "bogus": "f12"})
    async with app.run_test() as pilot:
        await pilot.pause()
        warnings = [n.message for n in app._notifications if "unknown action" in n.message]
        assert len(warnings) == 1
        assert "bogus" in warnings[0] and "history.rename" not in warnings[0]
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker))


async def test_open_flag_opens_the_conversation_at_startup(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="kept answer"))
    first = make_app()
    async with first.run_test() as pilot:
        await send(pilot, "kept question")
        await wait_idle(pilot)
        conversation_id = first.chat_screen.session.conversation_id
    assert conversation_id is not None
    args = build_parser().parse_args(["--open", str(conversation_id)])
    assert args.open == conversation_id
    cfg = Config(base_url=fake.base_url, model="test-model")
    app = build_app(args, cfg, LaunchPlan(cfg))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.chat_screen.session.conversation_id == conversation_id)
        assert [e.content for e in app.chat_screen.session.entries] == [
            "kept question",
            "kept answer",
        ]
        assert app.chat_screen.session.entries[-1].state == COMPLETE


def test_open_flag_rejects_a_non_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--open", "abc"])
    assert "--open" in capsys.readouterr().err


async def test_a_workbench_tool_can_open_a_conversation(
    fake: FakeServer, make_app: AppFactory
) -> None:
    from lmtui.ui.workbench import OpenConversation

    fake.enqueue(Reply(content="found again"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "something to find")
        await wait_idle(pilot)
        conversation_id = app.chat_screen.session.conversation_id
        assert conversation_id is not None
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: app.chat_screen.session.conversation_id is None)
        app.post_message(OpenConversation(conversation_id))
        await wait_until(pilot, lambda: app.chat_screen.session.conversation_id == conversation_id)
        assert [e.content for e in app.chat_screen.session.entries] == [
            "something to find",
            "found again",
        ]
