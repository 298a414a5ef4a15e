"""The built-in "Template metadata" preset against the real llama.cpp server.

llama.cpp turns ``response_format``'s JSON Schema into a grammar, so even the
135M-parameter SmolLM2 answers with JSON that validates.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
