"""The preset picker, the preset editor, and applying a preset to a conversation.

Pilot drives the screens on a small host app; files go to the test's private XDG
config dir; applying a preset is checked on the wire against the fake server.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import SamplingParams
from lmtui.services.chat import ChatSession
from lmtui.services.presets_apply import apply_preset
from lmtui.store import paths
from lmtui.store.builtin_presets import CODE_PROMPT
from lmtui.store.presets import Preset, load_presets, read_preset_file
from lmtui.ui.param_panel import ParamFields
from lmtui.ui.preset_picker import ConfirmDelete, PresetEditor, PresetPicker, preset_matches
from tests.fake_server import FakeModel, FakeServer


class Host(App[None]):
    """A bare app that records what each pushed screen returned."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []

    def open(self, screen: Screen[Any]) -> None:
        self.push_screen(screen, self.results.append)


def _presets_dir() -> Path:
    return paths.presets_dir()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def _open_picker(current: str | None = None) -> tuple[Host, PresetPicker]:
    host = Host()
    picker = PresetPicker(load_presets(), current=current)
    return host, picker


def _shown_names(picker: PresetPicker) -> list[str]:
    return [p.name for p in picker.shown]


# ---- filtering and choosing ---------------------------------------------------------


def test_filter_matches_name_and_description_words() -> None:
    sql = load_presets().get("SQL")
    assert sql is not None
    assert preset_matches(sql, "sql")
    assert preset_matches(sql, "DATA modeling")  # words of the description, any case
    assert not preset_matches(sql, "sql typescript")


async def test_typing_filters_the_list() -> None:
    host, picker = await _open_picker()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        everything = _shown_names(picker)
        assert len(everything) == len(load_presets())
        await pilot.press(*"modeling")  # only in SQL's description
        assert _shown_names(picker) == ["SQL"]
        await pilot.press(*" nothing-matches-this")
        assert _shown_names(picker) == []
        picker.filter_input.value = ""
        await pilot.pause()
        assert _shown_names(picker) == everything


async def test_enter_returns_the_highlighted_preset_and_escape_none() -> None:
    host, picker = await _open_picker()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press(*"typescript", "enter")
        await pilot.pause()
        chosen = host.results[-1]
        assert isinstance(chosen, Preset)
        assert chosen.name == "TypeScript code"
        assert chosen.system_prompt == CODE_PROMPT

        host.open(PresetPicker(load_presets()))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert host.results[-1] is None


async def test_current_preset_is_highlighted_first_and_arrows_move() -> None:
    host, picker = await _open_picker(current="sql")
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        highlighted = picker.highlighted()
        assert highlighted is not None and highlighted.name == "SQL"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert host.results[-1].name == "Template descriptions"


async def test_broken_files_are_listed_as_warnings_with_file_and_line() -> None:
    directory = _presets_dir()
    directory.mkdir(parents=True)
    broken = directory / "broken.toml"
    broken.write_text('name = "Broken"\n[params]\ntemperature = 9\n', encoding="utf-8")
    host, picker = await _open_picker()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        warnings = picker.query_one("#picker-warnings", Static)
        assert warnings.display
        text = str(warnings.render())
        assert "broken.toml" in text and "line 3" in text and "temperature" in text
        assert "Broken" not in _shown_names(picker)


# ---- applying a preset to a conversation ----------------------------------------------


async def test_chosen_sql_preset_is_applied_and_sent_on_the_wire() -> None:
    with FakeServer() as server:
        host, picker = await _open_picker()
        async with host.run_test(size=(80, 24)) as pilot:
            host.open(picker)
            await pilot.pause()
            await pilot.press(*"sql", "enter")
            await pilot.pause()
            sql = host.results[-1]
            assert isinstance(sql, Preset) and sql.name == "SQL"

            async with LMStudioClient(server.base_url) as client:
                session = ChatSession(
                    client,
                    model="qwen2.5-7b-instruct",
                    system_prompt="an older prompt",
                    params=SamplingParams(temperature=0.9, max_tokens=50),
                )
                reason = apply_preset(session, sql, await client.list_models())
                # The fake server has no sqlcoder: the conversation keeps its model.
                assert "preferred sqlcoder-7b-2 is not on this server" in reason.casefold()
                assert session.model == "qwen2.5-7b-instruct"
                assert session.preset == "SQL"
                assert session.params.temperature == 0.1
                assert session.system_prompt == ""  # the guide gives SQL no system prompt
                async for _ in session.send("List the tables"):
                    pass

                # A preset with a system prompt: the guide's code prompt goes first.
                typescript = load_presets().get("TypeScript code")
                assert typescript is not None
                apply_preset(session, typescript, await client.list_models())
                async for _ in session.send("Write a debounce hook"):
                    pass

    sql_body, ts_body = (r.json_body for r in server.requests_to("/v1/chat/completions"))
    assert sql_body["temperature"] == 0.1
    assert sql_body["max_tokens"] == 1024  # SQL's own cap replaces the old 50: not merged
    assert sql_body["model"] == "qwen2.5-7b-instruct"
    assert [m["role"] for m in sql_body["messages"]] == ["user"]
    assert ts_body["temperature"] == 0.3
    assert ts_body["messages"][0] == {"role": "system", "content": CODE_PROMPT}


async def test_apply_prefers_the_presets_loaded_model() -> None:
    models = [
        FakeModel("qwen2.5-7b-instruct", loaded=True),
        FakeModel("lmstudio-community/sqlcoder-7b-2", loaded=True),
    ]
    with FakeServer(models=models) as server:
        async with LMStudioClient(server.base_url) as client:
            session = ChatSession(client, model="qwen2.5-7b-instruct")
            sql = load_presets().get("SQL")
            assert sql is not None
            reason = apply_preset(session, sql, await client.list_models())
            assert reason.startswith("Using lmstudio-community/sqlcoder-7b-2")
            assert session.model == "lmstudio-community/sqlcoder-7b-2"
            async for _ in session.send("hi"):
                pass
    body = server.requests_to("/v1/chat/completions")[0].json_body
    assert body["model"] == "lmstudio-community/sqlcoder-7b-2"
    assert body["temperature"] == 0.1


# ---- the editor: new, edit, duplicate, delete ------------------------------------------


async def test_new_preset_is_written_0600_in_a_0700_dir_and_listed() -> None:
    host, picker = await _open_picker()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab", "n")
        await pilot.pause()
        editor = host.screen
        assert isinstance(editor, PresetEditor)
        await pilot.press(*"Release notes")
        editor.query_one("#editor-description", Input).value = "Short release notes"
        editor.query_one("#editor-models", Input).value = "phi-3.5-mini-instruct, gemma*"
        editor.query_one("#editor-system-prompt", TextArea).text = "Be brief."
        editor.query_one(ParamFields).row("temperature").set_text("0.5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert host.screen is picker
        assert "Release notes" in _shown_names(picker)

    file = _presets_dir() / "release-notes.toml"
    assert _mode(file) == 0o600
    assert _mode(file.parent) == 0o700
    saved = read_preset_file(file)
    assert saved.name == "Release notes"
    assert saved.description == "Short release notes"
    assert saved.models == ("phi-3.5-mini-instruct", "gemma*")
    assert saved.system_prompt == "Be brief."
    assert saved.params == SamplingParams(temperature=0.5)


async def test_editor_refuses_invalid_parameters_and_keeps_the_form() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        editor = PresetEditor()
        host.open(editor)
        await pilot.pause()
        await pilot.press(*"Hot")
        editor.query_one(ParamFields).row("temperature").set_text("5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert host.screen is editor
        message = str(editor.message.render())
        assert "Not saved" in message and "temperature" in message
        assert editor.query_one("#editor-name", Input).value == "Hot"
        assert not _presets_dir().exists() or not list(_presets_dir().iterdir())


async def test_saving_never_overwrites_a_broken_file() -> None:
    directory = _presets_dir()
    directory.mkdir(parents=True)
    broken = directory / "notes.toml"
    original = "name = 'Notes'\nthis is not toml\n"
    broken.write_text(original, encoding="utf-8")
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        editor = PresetEditor()
        host.open(editor)
        await pilot.pause()
        await pilot.press(*"Notes", "ctrl+s")
        await pilot.pause()
        assert host.screen is editor
        assert "already exists" in str(editor.message.render())
    assert broken.read_text(encoding="utf-8") == original


async def test_duplicate_copies_a_builtin_under_a_new_name() -> None:
    host, picker = await _open_picker(current="SQL")
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab", "c")
        await pilot.pause()
        editor = host.screen
        assert isinstance(editor, PresetEditor)
        assert editor.query_one("#editor-name", Input).value == "SQL copy"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert host.screen is picker
        highlighted = picker.highlighted()
        assert highlighted is not None and highlighted.name == "SQL copy"
    copy = read_preset_file(_presets_dir() / "sql-copy.toml")
    assert copy.params.temperature == 0.1
    assert copy.models == ("sqlcoder-7b-2", "sqlcoder-7b-2*")
    assert _mode(_presets_dir() / "sql-copy.toml") == 0o600


async def test_editing_a_builtin_saves_a_user_file_that_replaces_it() -> None:
    host, picker = await _open_picker(current="SQL")
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab", "e")
        await pilot.pause()
        editor = host.screen
        assert isinstance(editor, PresetEditor)
        editor.query_one(ParamFields).row("seed").set_text("42")
        await pilot.press("ctrl+s")
        await pilot.pause()
        sql = picker.presets.get("SQL")
        assert sql is not None and not sql.builtin
        assert picker.presets.overrides_builtin(sql)
    saved = read_preset_file(_presets_dir() / "sql.toml")
    assert saved.params == SamplingParams(temperature=0.1, seed=42, max_tokens=1024)


async def test_a_new_preset_named_like_a_builtin_needs_a_second_save() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        editor = PresetEditor()
        host.open(editor)
        await pilot.pause()
        await pilot.press(*"general", "ctrl+s")
        await pilot.pause()
        assert host.screen is editor
        assert "built-in" in str(editor.message.render())
        assert not (_presets_dir() / "general.toml").exists()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert host.screen is not editor
    assert read_preset_file(_presets_dir() / "general.toml").name == "general"


async def test_delete_asks_then_removes_the_user_file() -> None:
    directory = _presets_dir()
    directory.mkdir(parents=True)
    (directory / "mine.toml").write_text('name = "Mine"\n', encoding="utf-8")
    host, picker = await _open_picker(current="Mine")
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab", "d")
        await pilot.pause()
        assert isinstance(host.screen, ConfirmDelete)
        await pilot.press("n")  # keep it
        await pilot.pause()
        assert (directory / "mine.toml").exists()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert host.screen is picker
        assert not (directory / "mine.toml").exists()
        assert "Mine" not in _shown_names(picker)


async def test_builtins_cannot_be_deleted() -> None:
    host, picker = await _open_picker(current="SQL")
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab")
        assert picker.check_action("delete", ()) is None  # shown dimmed
        await pilot.press("d")
        await pilot.pause()
        assert host.screen is picker
        assert "SQL" in _shown_names(picker)


async def test_typing_in_the_list_goes_back_to_the_filter() -> None:
    host, picker = await _open_picker()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(picker)
        await pilot.pause()
        await pilot.press("tab")
        assert host.focused is picker.option_list
        await pilot.press(*"sql")  # 's', 'q', 'l' are not action keys
        assert host.focused is picker.filter_input
        assert picker.filter_input.value == "sql"
        assert _shown_names(picker) == ["SQL"]


async def test_save_current_settings_as_a_preset() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        editor = PresetEditor.from_current(
            "From chat", "You answer in haiku.", "qwen2.5-7b-instruct", SamplingParams(top_k=20)
        )
        host.open(editor)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = host.results[-1]
        assert isinstance(saved, Preset) and saved.path is not None
    again = read_preset_file(_presets_dir() / "from-chat.toml")
    assert again.system_prompt == "You answer in haiku."
    assert again.models == ("qwen2.5-7b-instruct",)
    assert again.params == SamplingParams(top_k=20)
    assert _mode(_presets_dir() / "from-chat.toml") == 0o600


async def test_apply_without_preferences_keeps_or_finds_a_model() -> None:
    general = load_presets().get("General")
    assert general is not None
    with FakeServer() as server:
        async with LMStudioClient(server.base_url) as client:
            available = await client.list_models()
            keeps = ChatSession(client, model="deepseek-r1-distill-qwen-14b")
            reason = apply_preset(keeps, general, available)
            assert keeps.model == "deepseek-r1-distill-qwen-14b"
            assert reason == (
                "Using deepseek-r1-distill-qwen-14b, the model already in use; "
                "not loaded, the server may load it on demand (JIT)"
            )
            finds = ChatSession(client)
            assert apply_preset(finds, general, available) == "Using loaded qwen2.5-7b-instruct"
            assert finds.model == "qwen2.5-7b-instruct"
    with FakeServer(models=[]) as empty:
        async with LMStudioClient(empty.base_url) as client:
            none = ChatSession(client)
            reason = apply_preset(none, general, await client.list_models())
            assert none.model is None and none.preset == "General"
            assert reason.startswith("No models on this server")
