"""Every tool opens from ``workbench_screens()`` with the documented arguments; Esc closes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ConfigError
from lmtui.backend.types import Message, Model, SamplingParams
from lmtui.services.batch import BatchRow
from lmtui.store.presets import Preset, PresetSet
from lmtui.ui.workbench import workbench_screens
from lmtui.ui.workbench.batch_screen import default_output, row_resolver
from tests.fake_server import FakeServer
from tests.workbench.helpers import CHAT_MODEL, Host, wait_until


@pytest.mark.parametrize("tool", sorted(workbench_screens()))
async def test_each_tool_opens_and_escape_closes_it(
    tool: str, fake_server: FakeServer, client: LMStudioClient
) -> None:
    title, factory = workbench_screens()[tool]
    assert title.startswith("Workbench: ")
    models = await client.list_models()
    app = Host(lambda: factory(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=(150, 45)) as pilot:
        screen = app.screen
        assert isinstance(screen, factory)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen)


def test_batch_rows_use_their_own_preset_and_model() -> None:
    terse = Preset("Terse", system_prompt="Be terse.", params=SamplingParams(temperature=0.2))
    models = [Model(CHAT_MODEL, loaded=True), Model("other-model", loaded=False)]
    resolve = row_resolver(models, None, None, PresetSet((terse,)))

    plain = BatchRow(0, (Message("user", "a"),), {"prompt": "a"})
    assert resolve(plain) == (CHAT_MODEL, "", SamplingParams())
    own = BatchRow(1, (Message("user", "b"),), {}, model="other-model", preset="terse")
    assert resolve(own) == ("other-model", "Be terse.", SamplingParams(temperature=0.2))
    with pytest.raises(ConfigError, match="No preset named 'nope'"):
        resolve(BatchRow(2, (Message("user", "c"),), {}, preset="nope"))


def test_default_output_sits_beside_the_input() -> None:
    assert default_output(Path("/data/prompts.csv")) == Path("/data/prompts.out.jsonl")
