"""The model sidebar: groups, filter, details, states and the messages it posts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList, Static

from lmtui.backend.types import LoadConfig, Model, ModelInstance, ModelType
from lmtui.ui.sidebar import (
    NO_MODELS,
    NONE_LOADED,
    ModelSidebar,
    badges,
    group_of,
    grouped,
    human_size,
    model_details,
)

CODER = Model(
    "qwen2.5-coder-7b-instruct",
    loaded=True,
    quantization="Q4_K_M",
    architecture="qwen2",
    max_context_length=32768,
    loaded_context_length=8192,
    size_bytes=4_680_000_000,
    capabilities=("tool_use",),
    instance_ids=("qwen2.5-coder-7b-instruct",),
)
MISTRAL = Model("mistralai/mistral-7b-instruct-v0.3", loaded=False, size_bytes=4_100_000_000)
PHI = Model("phi-3.5-mini-instruct", loaded=False)
VISION = Model("qwen/qwen2.5-vl-7b", type=ModelType.VLM, loaded=False)
EMBED = Model(
    "text-embedding-nomic-embed-text-v1.5",
    type=ModelType.EMBEDDINGS,
    loaded=True,
    instance_ids=("text-embedding-nomic-embed-text-v1.5",),
)
MODELS = [MISTRAL, EMBED, CODER, VISION, PHI]

SidebarMessage = (
    ModelSidebar.ModelSelected
    | ModelSidebar.LoadRequested
    | ModelSidebar.UnloadRequested
    | ModelSidebar.RefreshRequested
)


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


class SidebarHost(App[None]):
    """Just the sidebar, recording what it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield ModelSidebar()

    def on_model_sidebar_model_selected(self, message: ModelSidebar.ModelSelected) -> None:
        self.posted.append(message)

    def on_model_sidebar_load_requested(self, message: ModelSidebar.LoadRequested) -> None:
        self.posted.append(message)

    def on_model_sidebar_unload_requested(self, message: ModelSidebar.UnloadRequested) -> None:
        self.posted.append(message)

    def on_model_sidebar_refresh_requested(self, message: ModelSidebar.RefreshRequested) -> None:
        self.posted.append(message)

    @property
    def sidebar(self) -> ModelSidebar:
        return self.query_one(ModelSidebar)


def option_texts(app: App[None]) -> list[str]:
    """The plain text of every line of the model list."""
    options = app.query_one("#sidebar-list", OptionList).options
    texts = []
    for option in options:
        prompt = option.prompt
        assert isinstance(prompt, Content)
        texts.append(prompt.plain)
    return texts


def static_text(app: App[None], selector: str) -> str:
    widget = app.query_one(selector, Static)
    content = widget.content
    return content.plain if isinstance(content, Content) else str(content)


def test_group_rules() -> None:
    assert group_of(CODER) == "Loaded"
    assert group_of(MISTRAL) == "Not loaded"
    # The kind is a badge, never a group: a loaded vision model stays under "Loaded".
    assert group_of(VISION) == "Not loaded"
    assert group_of(Model("llava", loaded=True, capabilities=("vision",))) == "Loaded"
    assert group_of(EMBED) == "Loaded"
    assert group_of(Model("big", loaded=False, loading=True)) == "Loaded"
    assert group_of(Model("plain-v1-model")) == "Available"


def test_grouped_orders_groups_and_sorts_labels() -> None:
    groups = grouped(MODELS)
    assert [name for name, _ in groups] == ["Loaded", "Not loaded"]
    not_loaded = dict(groups)["Not loaded"]
    assert [m.id for m in not_loaded] == [MISTRAL.id, PHI.id, VISION.id]


def test_grouped_filters_by_id_and_label() -> None:
    named = Model("lmstudio-community/gemma-3-4b", display_name="Gemma 3 4B", loaded=False)
    assert [m.id for _, ms in grouped([*MODELS, named], "GEMMA 3") for m in ms] == [named.id]
    assert [m.id for _, ms in grouped(MODELS, "mistralai/") for m in ms] == [MISTRAL.id]
    assert grouped(MODELS, "no-such-model") == []


def test_human_size() -> None:
    assert human_size(512) == "512 B"
    assert human_size(4_680_000_000) == "4.7 GB"
    assert human_size(1_500_000_000_000) == "1.5 TB"


def test_details_only_show_what_the_server_said() -> None:
    full = dict(model_details(CODER))
    assert full == {
        "Type": "llm · loaded",
        "Quant": "Q4_K_M",
        "Ctx": "8,192 / 32,768",
        "Size": "4.7 GB",
        "Arch": "qwen2",
        "Caps": "tool_use",
    }
    # An instance shows its own context and load config.
    two = replace(
        CODER,
        instances=(
            ModelInstance(CODER.id, LoadConfig(context_length=8192)),
            ModelInstance(f"{CODER.id}:2", LoadConfig(16384, 512, True, None, False)),
        ),
    )
    second = dict(model_details(two, two.instances[1], ttl=300))
    assert second["Type"] == "llm · loaded ×2"
    assert second["Inst"] == f"{CODER.id}:2"
    assert second["Ctx"] == "16,384 / 32,768"
    assert second["Load"] == "batch 512 · flash attention on · KV cache in RAM"
    assert second["TTL"] == "300 s idle (preset)"
    assert model_details(Model("bare")) == [("Type", "llm")]
    assert dict(model_details(Model("m", max_context_length=4096)))["Ctx"] == "max 4,096"


async def test_lists_groups_with_active_and_loaded_markers() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS, active=CODER.id)
        await pilot.pause()
        assert option_texts(app) == [
            "Loaded 2",
            "▸● qwen2.5-coder-7b-instruct",
            " ● text-embedding-nomic-embed-text-v1.5 embed",
            "Not loaded 3",
            " ○ mistral-7b-instruct-v0.3",
            " ○ phi-3.5-mini-instruct",
            " ○ qwen2.5-vl-7b vision",
        ]
        assert app.sidebar.outer_size.width == 28
        # The cursor starts on the active model, and its details are shown.
        assert app.sidebar.highlighted_model == CODER
        details = static_text(app, "#sidebar-details")
        assert details.splitlines()[0] == CODER.id
        assert "Q4_K_M" in details and "8,192 / 32,768" in details and "4.7 GB" in details
        assert "qwen2" in details and "tool-use" in details  # a badge never breaks

        app.sidebar.set_active(PHI.id)
        await pilot.pause()
        assert "▸○ phi-3.5-mini-instruct" in option_texts(app)
        assert " ● qwen2.5-coder-7b-instruct" in option_texts(app)


async def test_headers_are_skipped_and_enter_selects() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS, active=CODER.id)
        app.sidebar.focus_list()
        await pilot.press("down", "down")  # past the embedder and the "Not loaded" header
        assert app.sidebar.highlighted_model == MISTRAL
        assert "mistralai/mistral-7b-instruct-v0.3" in static_text(app, "#sidebar-details")
        await pilot.press("enter")
        await pilot.pause()
        selected = [m for m in app.posted if isinstance(m, ModelSidebar.ModelSelected)]
        assert [m.model for m in selected] == [MISTRAL]


async def test_load_unload_refresh_keys_post_requests() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS, active=CODER.id)
        app.sidebar.focus_list()
        await pilot.press("u")
        await pilot.press("down", "down", "u")  # mistral is not loaded: nothing to unload
        await pilot.press("L")
        await pilot.press("up", "up", "l")  # loaded: the dialog loads another instance
        await pilot.press("r")
        await pilot.pause()
        kinds = [(type(m).__name__, getattr(m, "model", None)) for m in app.posted]
        assert kinds == [
            ("UnloadRequested", CODER),
            ("LoadRequested", MISTRAL),
            ("LoadRequested", CODER),
            ("RefreshRequested", None),
        ]
        unload = app.posted[0]
        assert isinstance(unload, ModelSidebar.UnloadRequested)
        assert unload.model.instance_ids == ("qwen2.5-coder-7b-instruct",)


async def test_keys_are_declared_with_ids_for_the_keymap() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS)
        app.set_keymap({"sidebar.load": "ctrl+l", "sidebar.refresh": "f5"})
        app.sidebar.focus_list()
        await pilot.press("down", "l", "ctrl+l", "f5")
        await pilot.pause()
        assert [type(m).__name__ for m in app.posted] == ["LoadRequested", "RefreshRequested"]


async def test_filter_narrows_the_list_and_keeps_focus_flow() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS)
        app.sidebar.focus_list()
        await pilot.press("slash")
        assert app.focused is app.query_one("#sidebar-filter", Input)
        await pilot.press(*"qwen")
        await pilot.pause()
        assert option_texts(app) == [
            "Loaded 1",
            " ● qwen2.5-coder-7b-instruct",
            "Not loaded 1",
            " ○ qwen2.5-vl-7b vision",
        ]
        # Typing "l", "u" or "r" into the filter must not trigger the sidebar's keys.
        await pilot.press(*["backspace"] * 4, "v", "l")
        await pilot.pause()
        assert option_texts(app) == ["Not loaded 1", " ○ qwen2.5-vl-7b vision"]
        assert app.posted == []
        await pilot.press("enter")
        assert app.query_one("#sidebar-list", OptionList).has_focus
        assert app.sidebar.highlighted_model == VISION

        app.query_one("#sidebar-filter", Input).value = "zzz"
        await pilot.pause()
        assert option_texts(app) == []
        assert static_text(app, "#sidebar-notice") == "No models match “zzz”"
        assert app.sidebar.highlighted_model is None
        assert not app.query_one("#sidebar-details").has_class("-shown")


async def test_down_from_filter_moves_to_list() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS)
        app.sidebar.focus_filter()
        await pilot.press("down")
        assert app.focused is app.query_one("#sidebar-list", OptionList)


async def test_empty_server_and_none_loaded_states() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models([])
        await pilot.pause()
        assert static_text(app, "#sidebar-notice") == NO_MODELS
        assert app.query_one("#sidebar-notice").has_class("-shown")

        app.sidebar.set_models([MISTRAL, PHI, EMBED])  # only an embedding model is loaded
        await pilot.pause()
        assert static_text(app, "#sidebar-notice") == NONE_LOADED
        assert "press L" in NONE_LOADED and "lms load <model>" in NONE_LOADED
        assert len(option_texts(app)) == 5  # the models are still listed to load one

        app.set_keymap({"sidebar.load": "ctrl+l"})
        app.sidebar.set_models([MISTRAL, PHI, EMBED])
        await pilot.pause()
        assert static_text(app, "#sidebar-notice").endswith("or press ^l")

        app.sidebar.set_models(MODELS)
        await pilot.pause()
        assert not app.query_one("#sidebar-notice").has_class("-shown")


async def test_plain_v1_models_are_available_without_warning() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models([Model("gpt-oss-20b"), Model("smollm2")])
        await pilot.pause()
        assert option_texts(app) == ["Available 2", " · gpt-oss-20b", " · smollm2"]
        assert not app.query_one("#sidebar-notice").has_class("-shown")


async def test_unreachable_state_shows_remedy_until_models_arrive() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_models(MODELS)
        app.sidebar.set_error("Cannot reach http://localhost:1234", "Start LM Studio's server.")
        await pilot.pause()
        notice = static_text(app, "#sidebar-notice")
        assert "Cannot reach http://localhost:1234" in notice
        assert "Start LM Studio's server." in notice
        assert app.query_one("#sidebar-notice").has_class("-error")
        assert notice.endswith("Press r to retry.")
        assert option_texts(app) == []
        app.sidebar.focus_list()
        await pilot.press("r")
        await pilot.pause()
        assert [type(m).__name__ for m in app.posted] == ["RefreshRequested"]

        app.sidebar.set_models(MODELS)
        await pilot.pause()
        assert not app.query_one("#sidebar-notice").has_class("-error")
        assert len(option_texts(app)) == 7


async def test_busy_line() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.sidebar.set_busy("Loading qwen…")
        await pilot.pause()
        busy = app.query_one("#sidebar-busy")
        assert busy.has_class("-shown")
        assert static_text(app, "#sidebar-busy") == "Loading qwen…"
        app.sidebar.set_busy(None)
        await pilot.pause()
        assert not busy.has_class("-shown")


async def test_many_models_refresh_without_mounting_widgets() -> None:
    many = [Model(f"org/model-{i:03}", loaded=i % 7 == 0) for i in range(300)]
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        before = len(list(app.sidebar.walk_children()))
        app.sidebar.set_models(many)
        app.sidebar.set_models(many[:150])
        await pilot.pause()
        assert len(list(app.sidebar.walk_children())) == before
        assert len(option_texts(app)) == 150 + 2


def test_capability_badges_break_between_badges_only() -> None:
    words = ("vision", "tool_use", "reasoning", "structured output", "long_context")
    content = Content.assemble("Caps  ", badges(words))
    for width in (20, 26, 40):
        lines = [line.plain.strip() for line in content.wrap(width)]
        # Every badge sits whole on one line (its inner spaces cannot break).
        flat = [w.replace("_", "-").replace(" ", "-") for w in words]
        for badge in flat:
            assert sum(badge in line for line in lines) == 1, (width, lines)
        assert len(lines) > 1 or width == 40


async def test_loading_models_are_marked_and_stay_under_loaded() -> None:
    app = SidebarHost()
    async with app.run_test(size=(80, 24)) as pilot:
        busy = Model("big/model", loaded=False, loading=True)
        app.sidebar.set_models([busy, MISTRAL])
        await pilot.pause()
        assert option_texts(app)[:2] == ["Loaded 1", " ◐ model"]
        # lmtui's own load marks a model loading until it ends.
        app.sidebar.set_loading(MISTRAL.id, True)
        await pilot.pause()
        assert " ◐ mistral-7b-instruct-v0.3" in option_texts(app)
        assert option_texts(app)[0] == "Loaded 2"
        app.sidebar.set_loading(MISTRAL.id, False)
        await pilot.pause()
        assert " ○ mistral-7b-instruct-v0.3" in option_texts(app)
