"""One newline behaviour in every text area a user writes in: the composer's keys work there.

(Embeddings once joined three lines into one text because Ctrl+J did nothing.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import TextArea

from lmtui.ui.app import LmtuiApp
from lmtui.ui.composer import Composer
from lmtui.ui.text_box import TextBox
from lmtui.ui.workbench.common import StreamText
from tests.ui.conftest import wait_until

AppFactory = Callable[..., LmtuiApp]


@pytest.mark.parametrize(
    "opener",
    [
        "app.open_workbench_tool('completions')",
        "app.open_workbench_tool('embeddings')",
        "app.open_workbench_tool('compare')",
        "app.edit_params",
    ],
)
async def test_newline_keys_work_in_every_text_area(make_app: AppFactory, opener: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.status.server_ok is not None)
        await app.run_action(opener.removeprefix("app."), app.screen)  # the chat screen acts
        await wait_until(
            pilot, lambda: len(app.screen_stack) > 1 and bool(app.screen.query(TextArea))
        )
        await pilot.pause()
        areas = [a for a in app.screen.query(TextArea) if not isinstance(a, StreamText)]
        assert areas and all(isinstance(a, TextBox | Composer) for a in areas)
        for area in areas:
            area.focus()
            area.clear()
            await pilot.pause()
            await pilot.press("o", "n", "e", "ctrl+j", "t", "w", "o", "alt+enter", "x")
            await pilot.press("shift+enter", "y")
            assert area.text == "one\ntwo\nx\ny", area.id
