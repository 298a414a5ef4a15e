"""The batch screen with a schema preset and a second server: counts and per-server lines."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import SamplingParams
from lmtui.store.presets import Preset, PresetSet
from lmtui.store.schema_files import response_format_for
from lmtui.ui.workbench.batch_screen import BatchScreen
from tests.fake_server import FakeServer, Reply
from tests.workbench.helpers import CHAT_MODEL, Host, wait_until

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def _text(app: Host, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_counts_valid_invalid_and_shows_each_server(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path, isolated_dirs: object
) -> None:
    from lmtui.store import paths

    source = tmp_path / "p.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"q{i}"}) + "\n" for i in range(4)))
    fake_server.enqueue(Reply(text="no json here"))  # one invalid row; the rest follow the schema
    preset = Preset(
        "Numbers", params=SamplingParams(response_format=response_format_for(SCHEMA, "n"))
    )
    with FakeServer() as other:
        config = paths.config_file()
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[servers.other]\nbase_url = "{other.base_url}"\n')
        models = await client.list_models()
        app = Host(
            lambda: BatchScreen(
                client, models, default_model=CHAT_MODEL, presets=PresetSet((preset,))
            )
        )
        async with app.run_test(size=(150, 45)) as pilot:
            screen = app.screen
            screen.query_one("#input", Input).value = str(source)
            screen.query_one("#preset").value = "Numbers"  # type: ignore[attr-defined]
            screen.query_one("#concurrency", Input).value = "1"
            screen.query_one("#servers", Input).value = "other"
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: "Finished" in _text(app, "#status"))
            assert "3 done" in _text(app, "#status") and "1 invalid" in _text(app, "#status")
            lines = _text(app, "#servers-status").splitlines()
            assert lines[0].startswith(f"{fake_server.base_url}: ")
            assert lines[1].startswith("other: ")
        used_other = len(other.requests_to("/v1/chat/completions"))
    assert used_other >= 1
    rows = [json.loads(line) for line in (tmp_path / "p.out.jsonl").read_text().splitlines()]
    assert sorted(r["valid"] for r in rows) == [False, True, True, True]
    assert {r["server"] for r in rows} <= {fake_server.base_url, "other"}
