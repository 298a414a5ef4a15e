"""The built-in "Template metadata" preset against the real llama.cpp server.

llama.cpp turns ``response_format``'s JSON Schema into a grammar, so even the
135M-parameter SmolLM2 answers with JSON that validates.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmtui.services.local_server import LocalServer
from lmtui.services.schemas import validation_errors
from lmtui.store.presets import load_presets
from lmtui.store.schema_files import schema_of
from tests.integration.helpers import REPO_ROOT, lmtui_env

pytestmark = pytest.mark.real_server


def test_template_metadata_preset_answers_valid_json(real_server: LocalServer) -> None:
    preset = load_presets().get("Template metadata")
    assert preset is not None
    schema = schema_of(preset.params.response_format)
    assert schema is not None
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmtui",
            "ask",
            "--base-url",
            real_server.base_url,
            "--preset",
            "Template metadata",
            "--no-save",
            "--max-tokens",
            "300",
            "A wedding invitation with gold leaves on cream paper.",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=lmtui_env(),
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    value = json.loads(done.stdout)
    assert validation_errors(value, schema) == ()
    assert set(value) == {"title", "category", "style", "color_palette", "keywords"}


async def test_template_metadata_shows_as_valid_in_the_tui(
    real_server: LocalServer, tmp_path: Path
) -> None:
    from textual.widgets import Input

    from lmtui.services.clients import client_for
    from lmtui.store.history import HistoryStore
    from lmtui.store.profiles import ServerProfile
    from lmtui.ui.workbench.structured import StructuredScreen
    from tests.workbench.helpers import Host, wait_until

    profile = ServerProfile("real", real_server.base_url)
    with HistoryStore(tmp_path / "h.sqlite3") as history:
        async with client_for(profile) as client:
            models = await client.list_models()
            model = next(m.id for m in models if not m.is_embedding)
            app = Host(
                lambda: StructuredScreen(client, models, default_model=model, history=history)
            )
            async with app.run_test(size=(100, 30)) as pilot:
                screen = app.screen
                assert isinstance(screen, StructuredScreen)
                screen.query_one("#preset").value = "Template metadata"  # type: ignore[attr-defined]
                prompt = screen.query_one("#prompt", Input)
                prompt.value = "A birthday invitation with balloons."
                prompt.focus()
                await pilot.press("ctrl+r")

                def checked() -> str:
                    return str(screen.query_one("#check").render())

                await wait_until(pilot, lambda: "valid" in checked(), steps=18000)
                assert "✓ valid" in checked(), checked()
                value = json.loads(str(screen.query_one("#reply").render()))
    preset = load_presets().get("Template metadata")
    assert preset is not None
    schema = schema_of(preset.params.response_format)
    assert schema is not None and validation_errors(value, schema) == ()
