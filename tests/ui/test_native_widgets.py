"""Pilot tests of the native-chat pieces: progress line, tool-call blocks, reasoning picker."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Collapsible, OptionList, Static

from lmtui.backend.types import LoadProgress, Model, PromptProgress, ReplyExtras, ToolCall
from lmtui.ui.reasoning_picker import DEFAULT, ReasoningPicker, picker_options
from lmtui.ui.reply_progress import ReplyProgress, describe_progress
from lmtui.ui.sidebar import model_details
from lmtui.ui.tool_calls import ToolCallBlock


class _Host(App[None]):
    def __init__(self, *widgets: Static | Collapsible) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self.widgets


async def test_progress_line_rises_to_100_then_hides() -> None:
    extras = ReplyExtras()
    line = ReplyProgress(extras)
    app = _Host(line)
    async with app.run_test(size=(80, 24)) as pilot:
        assert not line.display or not line.has_class("-active")
        shown: list[str] = []
        for p in (0.0, 0.25, 0.5, 1.0):
            extras.apply(LoadProgress(p))
            line.show()
            await pilot.pause()
            shown.append(str(line.render()))
        assert [s.split("%")[0].split()[-1] for s in shown] == ["0", "25", "50", "100"]
        assert "Loading the model" in shown[-1] and "s  (Esc cancels)" in shown[-1]
        assert line.has_class("-active")
        extras.apply(LoadProgress(1.0, done=True, load_time_s=2.5))
        extras.apply(PromptProgress(0.4))
        line.show()
        await pilot.pause()
        assert "Processing the prompt" in str(line.render()) and " 40%" in str(line.render())
        extras.apply(PromptProgress(1.0, done=True))
        line.show()
        await pilot.pause()
        assert not line.has_class("-active")
        assert extras.load_seconds == 2.5


def test_no_progress_text_without_a_load() -> None:
    assert describe_progress(ReplyExtras()) is None


async def test_tool_call_blocks_show_provider_output_and_failure() -> None:
    running = ToolCall("call_1", "browser_navigate", '{"url": "x"}', "mcp/playwright")
    failed = ToolCall("call_2", "click", "{}", "docs", failure="Invalid arguments\x1b[31m")
    first, second = ToolCallBlock(running), ToolCallBlock(failed)
    app = _Host(first, second)
    async with app.run_test(size=(80, 24)) as pilot:
        assert first.title == "Tool: browser_navigate · mcp/playwright · running…"
        assert first.collapsed
        first.update_call(ToolCall(**{**running.to_json(), "output": "Example Domain"}))
        first.collapsed = False
        await pilot.pause()
        assert first.title.endswith("· ok")
        body = str(first.query_one(".tool-call-body", Static).render())
        assert 'arguments: {"url": "x"}' in body and "output: Example Domain" in body
        assert second.title.endswith("· failed") and second.has_class("-failed")
        failure = str(second.query_one(".tool-call-body", Static).render())
        # Server text is made inert: no raw escape reaches the terminal.
        assert "failure: Invalid arguments" in failure and "\x1b" not in failure


GPT = Model(
    "openai/gpt-oss-20b", reasoning_options=("low", "medium", "high"), reasoning_default="medium"
)


def test_picker_offers_only_what_the_model_allows() -> None:
    ids = [ident for ident, _ in picker_options(GPT, "high")]
    assert ids == [DEFAULT, "low", "medium", "high"]
    assert picker_options(Model("plain"), None) == []


async def test_reasoning_picker_returns_the_choice() -> None:
    chosen: list[str | None] = []

    class PickerApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ReasoningPicker(GPT, None), chosen.append)

    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels[0] == "model default (medium) ✓"
        await pilot.press("down", "down", "enter")
        await pilot.pause()
    assert chosen == ["medium"]


async def test_reasoning_picker_explains_a_model_without_options() -> None:
    class PickerApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ReasoningPicker(Model("plain-model"), None))

    app = PickerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#reasoning-none", Static).render())
        assert "plain-model offers no reasoning setting" in text
        await pilot.press("escape")


def test_sidebar_details_list_the_reasoning_options() -> None:
    gpt = Model("gpt", reasoning_options=("low", "high"), reasoning_default="low")
    assert ("Think", "low, high (default low)") in model_details(gpt)
    assert all(label != "Think" for label, _ in model_details(Model("plain")))
