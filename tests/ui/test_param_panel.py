"""The parameter panel: validation as you type, markers, resets, blank = unset, the result."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static, TextArea

from lmtui.backend.params import PARAM_SPECS, param_spec
from lmtui.backend.types import SamplingParams
from lmtui.ui.param_panel import DIFFERS_MARK, ParamPanel, ParamResult, parse_param_text

PRESET = SamplingParams(temperature=0.1, max_tokens=800)


class Host(App[None]):
    """A bare app that records what each pushed screen returned."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []

    def open(self, screen: Screen[Any]) -> None:
        self.push_screen(screen, self.results.append)


def _mark(panel: ParamPanel, name: str) -> str:
    return str(panel.fields.row(name).query_one(".param-mark", Static).render())


def _help(panel: ParamPanel, name: str) -> str:
    return str(panel.fields.row(name).query_one(".param-help", Static).render())


async def test_invalid_value_shows_the_error_and_save_is_refused() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        panel = ParamPanel(SamplingParams(), preset=PRESET)
        host.open(panel)
        await pilot.pause()
        assert host.focused is panel.fields.row("temperature").input
        await pilot.press(*"3")
        row = panel.fields.row("temperature")
        assert row.error == "temperature must be 0 to 2, not 3"
        assert _help(panel, "temperature") == row.error
        assert row.has_class("-invalid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert host.screen is panel and host.results == []
        assert "temperature" in str(panel.message.render())
        assert panel.message.has_class("-error")

        await pilot.press("backspace", *"0.5")  # fixed: the error goes away, Save works
        assert row.error is None
        assert _help(panel, "temperature") == param_spec("temperature").help
        await pilot.press("ctrl+s")
        await pilot.pause()
    result = host.results[-1]
    assert isinstance(result, ParamResult)
    assert result.params == SamplingParams(temperature=0.5)


async def test_marker_shows_values_that_differ_from_the_preset() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        panel = ParamPanel(SamplingParams(temperature=0.3, max_tokens=800), preset=PRESET)
        host.open(panel)
        await pilot.pause()
        assert _mark(panel, "temperature") == DIFFERS_MARK
        assert _mark(panel, "max_tokens") == " "  # same as the preset
        assert _mark(panel, "top_p") == " "  # unset in both
        panel.fields.row("temperature").set_text("0.10")
        await pilot.pause()
        assert _mark(panel, "temperature") == " "
        panel.fields.row("top_p").set_text("0.9")
        await pilot.pause()
        assert _mark(panel, "top_p") == DIFFERS_MARK


async def test_reset_row_and_reset_all_go_back_to_the_preset() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        current = SamplingParams(temperature=1.2, max_tokens=100, seed=7)
        panel = ParamPanel(current, preset=PRESET)
        host.open(panel)
        await pilot.pause()
        await pilot.press("ctrl+r")  # the focused row: temperature
        assert panel.fields.row("temperature").input.value == "0.1"
        assert panel.fields.row("max_tokens").input.value == "100"
        await pilot.click("#reset-max_tokens")
        assert panel.fields.row("max_tokens").input.value == "800"
        assert panel.fields.row("seed").input.value == "7"
        await pilot.press("alt+r")
        assert panel.fields.row("seed").input.value == ""  # the preset leaves seed unset
        assert all(not row.differs for row in panel.fields.rows())
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert host.results[-1].params == PRESET


async def test_blank_means_unset_and_the_system_prompt_is_returned() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        current = SamplingParams(temperature=0.7, max_tokens=500, stop=("###",))
        panel = ParamPanel(current, preset=PRESET, system_prompt="Be brief.")
        host.open(panel)
        await pilot.pause()
        row = panel.fields.row("max_tokens")
        assert row.input.placeholder == "unset (model max)"
        row.set_text("")
        await pilot.pause()
        assert row.error is None and row.value is None
        prompt = panel.query_one("#param-system-prompt", TextArea)
        assert prompt.text == "Be brief."
        prompt.text = "Be very brief."
        await pilot.press("ctrl+s")
        await pilot.pause()
    result = host.results[-1]
    assert result.system_prompt == "Be very brief."
    assert result.params == SamplingParams(temperature=0.7, stop=("###",))
    assert "max_tokens" not in result.params.to_json()


async def test_escape_cancels_with_none() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        host.open(ParamPanel(SamplingParams(temperature=0.2)))
        await pilot.pause()
        await pilot.press(*"9", "escape")
        await pilot.pause()
    assert host.results == [None]


async def test_every_row_is_reachable_at_80x24() -> None:
    host = Host()
    async with host.run_test(size=(80, 24)) as pilot:
        panel = ParamPanel(SamplingParams())
        host.open(panel)
        await pilot.pause()
        scroll = panel.query_one("#param-scroll")
        assert scroll.max_scroll_y > 0  # more rows than fit: it scrolls
        for _ in PARAM_SPECS[1:]:
            await pilot.press("down")
        await pilot.pause()
        last = panel.fields.row(PARAM_SPECS[-1].name)
        assert host.focused is last.input
        assert scroll.scroll_y > 0
        assert scroll.region.contains_region(last.input.region)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("stop", '["a", "b"]', ("a", "b")),
        ("stop", '"\\n\\n"', "\n\n"),
        ("stop", "###", "###"),
        ("temperature", " 0.25 ", 0.25),
        ("max_tokens", "-1", -1),
        ("seed", "", None),
        ("response_format", '{"type": "text"}', {"type": "text"}),
    ],
)
def test_typed_text_is_read_as_values(name: str, text: str, value: object) -> None:
    assert parse_param_text(param_spec(name), text) == value


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("stop", '["a", "b"'),
        ("stop", "[]"),
        ("top_k", "1.5"),
        ("repeat_penalty", "0"),
        ("response_format", '{"type": "json_object"}'),
    ],
)
def test_bad_text_is_refused_with_a_message(name: str, text: str) -> None:
    with pytest.raises(ValueError, match=name):
        parse_param_text(param_spec(name), text)
