"""Every key screen stays readable: no visible character drawn in its own background colour.

Rendered as the bytes lmtui writes to a terminal (after Textual's colour filters),
under ``NO_COLOR=1``, on a 16-colour terminal and with each built-in theme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from lmtui.ui.app import LmtuiApp
from lmtui.ui.themes import load_themes
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until
from tests.ui.terminal_cells import DEFAULT_BG, DEFAULT_FG, invisible_cells, render_screen

AppFactory = Callable[..., LmtuiApp]

# (key that opens it, its name); Escape closes each again.
SCREENS = [
    ("f1", "help"),
    ("ctrl+p", "command palette"),
    ("f3", "preset picker"),
    ("f4", "parameter panel"),
    ("f5", "troubleshooting"),
    ("f6", "history"),
    ("f7", "theme picker"),
    ("f8", "workbench menu"),
]


def _describe(problems: list[Any]) -> str:
    rows = sorted({cell.row for cell in problems})
    return f"{len(problems)} invisible characters on rows {rows[:10]}: " + "".join(
        cell.char for cell in problems[:40]
    )


async def _check_every_screen(pilot: Pilot[Any], color_system: str) -> dict[str, str]:
    app = pilot.app
    assert isinstance(app, LmtuiApp)
    app.chat_screen.composer.cursor_blink = False
    await wait_until(pilot, lambda: app.chat_screen.status.server_ok is not None)
    await send(pilot, "Show me a list")
    await wait_idle(pilot)
    failures: dict[str, str] = {}
    problems = invisible_cells(render_screen(app, color_system))
    if problems:
        failures["chat"] = _describe(problems)
    for key, name in SCREENS:
        await pilot.press(key)
        await pilot.pause()
        await pilot.pause()
        problems = invisible_cells(render_screen(app, color_system))
        if problems:
            failures[name] = _describe(problems)
        while len(app.screen_stack) > 1:
            await pilot.press("escape")
            await pilot.pause()
    return failures


async def _run(app: LmtuiApp, color_system: str, size: tuple[int, int]) -> dict[str, str]:
    async with app.run_test(size=size) as pilot:
        return await _check_every_screen(pilot, color_system)


@pytest.mark.parametrize("color_system", ["256", "standard", "truecolor"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_color_screens_are_readable(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeServer,
    make_app: AppFactory,
    color_system: str,
    size: tuple[int, int],
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    fake.enqueue(Reply(content="Here:\n\n- first\n- **second**\n\n```python\nx = 1\n```"))
    app = make_app()
    assert await _run(app, color_system, size) == {}


async def test_no_color_uses_the_terminal_default_colours(
    monkeypatch: pytest.MonkeyPatch, fake: FakeServer, make_app: AppFactory
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    fake.enqueue(Reply(content="plain reply"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "hello")
        await wait_idle(pilot)
        from tests.ui.terminal_cells import parse_cells

        cells = parse_cells(render_screen(app, "256"))
        colours = {cell.fg for cell in cells} | {cell.bg for cell in cells}
        assert colours <= {DEFAULT_FG, DEFAULT_BG}


async def test_sixteen_colour_terminal_screens_are_readable(
    monkeypatch: pytest.MonkeyPatch, fake: FakeServer, make_app: AppFactory
) -> None:
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    monkeypatch.delenv("COLORTERM", raising=False)
    fake.enqueue(Reply(content="Here:\n\n- first\n- **second**"))
    assert await _run(make_app(), "standard", (80, 24)) == {}


@pytest.mark.parametrize("theme", sorted(theme.name for theme in load_themes()[0]))
async def test_each_theme_screens_are_readable(
    fake: FakeServer, make_app: AppFactory, theme: str
) -> None:
    fake.enqueue(Reply(content="Here:\n\n- first\n- **second**\n\n```python\nx = 1\n```"))
    system = "standard" if theme == "lmtui-ansi" else "truecolor"
    assert await _run(make_app(theme=theme), system, (100, 30)) == {}


def test_the_check_sees_black_on_black() -> None:
    from tests.ui.terminal_cells import invisible_cells as check

    assert [c.char for c in check("\x1b[38;5;16m\x1b[48;5;16mhi\x1b[0m ok")] == ["h", "i"]
    assert check("\x1b[30;40mx") and check("\x1b[38;2;0;0;0;48;5;16mx")
    assert not check("\x1b[7mx\x1b[27m\x1b[39;49my")  # defaults differ, reversed or not
