"""``lmtui presets`` through the real entry point, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.seed_prompts import SEED_CODE, SEED_CONTENT, SEED_METADATA

TASK_TEMPERATURES = {
    "Invitation text": 0.8,
    "TypeScript code": 0.3,
    "Complex refactoring": 0.2,
    "SQL": 0.1,
    "Template descriptions": 0.7,
    "Architecture planning": 0.4,
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG directories are all inside ``tmp_path``."""
    out = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        out[name] = str(tmp_path / name.lower())
    return out


@pytest.fixture
def presets_dir(tmp_path: Path) -> Path:
    """The user presets directory ``env`` points at (not created)."""
    return tmp_path / "xdg_config_home" / "lmtui" / "presets"


def lmtui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lmtui ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "lmtui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def listing(env: dict[str, str]) -> dict[str, Any]:
    done = lmtui(env, "presets", "list", "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_list_json_has_the_builtins_from_the_guide(env: dict[str, str], presets_dir: Path) -> None:
    data = listing(env)
    assert data["directory"] == str(presets_dir)
    assert data["errors"] == []
    by_name = {p["name"]: p for p in data["presets"]}
    for name, temperature in TASK_TEMPERATURES.items():
        assert by_name[name]["params"]["temperature"] == temperature
        assert by_name[name]["builtin"] is True
        assert by_name[name]["source"] == "built-in"
        assert by_name[name]["path"] is None
    assert by_name["Invitation text"]["system_prompt"] == SEED_CONTENT
    assert by_name["TypeScript code"]["system_prompt"] == SEED_CODE
    assert by_name["Complex refactoring"]["system_prompt"] == SEED_CODE
    assert by_name["Template metadata"]["system_prompt"] == SEED_METADATA
    assert by_name["Template metadata"]["params"]["response_format"]["type"] == "json_schema"
    assert by_name["SQL"]["models"][0] == "sqlcoder-7b-2"
    assert by_name["General"]["models"] == [] and by_name["General"]["params"] == {
        "max_tokens": 2048
    }
    assert not presets_dir.exists()  # listing creates nothing


def test_user_file_overrides_and_broken_file_is_reported(
    env: dict[str, str], presets_dir: Path
) -> None:
    presets_dir.mkdir(parents=True)
    (presets_dir / "sql.toml").write_text(
        'name = "SQL"\nmodel = "my-sql"\n[params]\ntemperature = 0.0\n', "utf-8"
    )
    broken = presets_dir / "broken.toml"
    broken.write_text('name = "B"\n[params]\ntemperature = 9\n', "utf-8")
    done = lmtui(env, "presets", "--json")
    assert done.returncode == 0
    data = json.loads(done.stdout)
    sql = next(p for p in data["presets"] if p["name"] == "SQL")
    assert sql["models"] == ["my-sql"]
    assert sql["params"] == {"temperature": 0.0}
    assert sql["source"] == "user" and sql["overrides_builtin"] is True
    assert sql["path"] == str(presets_dir / "sql.toml")
    assert [e["message"] for e in data["errors"]] == [
        f"{broken}: line 3: temperature must be 0 to 2, not 9."
    ]
    assert done.stderr == f"lmtui: {broken}: line 3: temperature must be 0 to 2, not 9.\n"
    assert broken.read_text("utf-8") == 'name = "B"\n[params]\ntemperature = 9\n'


def test_text_list_shows_every_preset(env: dict[str, str]) -> None:
    done = lmtui(env, "presets", "list")
    assert done.returncode == 0, done.stderr
    for name in ("General", *TASK_TEMPERATURES, "Template metadata"):
        assert f"\n{name}  (built-in)\n" in done.stdout
    assert "params: temperature=0.1" in done.stdout


def test_show_is_case_insensitive(env: dict[str, str]) -> None:
    done = lmtui(env, "presets", "show", "typescript CODE", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["name"] == "TypeScript code"
    assert data["system_prompt"] == SEED_CODE
    text = lmtui(env, "presets", "show", "Template metadata")
    assert text.returncode == 0
    assert "    - Keywords for search" in text.stdout
    assert '"additionalProperties": false' in text.stdout


def test_show_missing_preset_exits_2_and_lists_names(env: dict[str, str]) -> None:
    done = lmtui(env, "presets", "show", "Nope")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "No preset named 'Nope'." in done.stderr
    assert "Presets: General, Invitation text," in done.stderr


def test_ask_with_a_preset_sends_its_prompt_params_and_model(env: dict[str, str]) -> None:
    from tests.fake_server import FakeModel, FakeServer

    models = [
        FakeModel("google/gemma-3-4b", loaded=True),
        FakeModel("lmstudio-community/qwen2.5-coder-7b-instruct", loaded=False),
    ]
    with FakeServer(models=models, jit=True) as srv:
        done = lmtui(
            env,
            "ask",
            "--base-url",
            srv.base_url,
            "--preset",
            "typescript code",
            "--top-p",
            "0.5",
            "--no-save",
            "-v",
            "Write a sum function",
        )
        bodies = [r.json_body for r in srv.requests_to("/v1/chat/completions")]
    assert done.returncode == 0, done.stderr
    assert len(bodies) == 1
    body = bodies[0]
    assert body["model"] == "lmstudio-community/qwen2.5-coder-7b-instruct"
    assert body["messages"][0] == {"role": "system", "content": SEED_CODE}
    assert body["messages"][-1] == {"role": "user", "content": "Write a sum function"}
    assert (body["temperature"], body["top_p"]) == (0.3, 0.5)
    assert "preset 'TypeScript code' prefers qwen2.5-coder-7b-instruct" in done.stderr


def test_ask_with_a_preset_whose_model_is_missing_says_what_it_used(
    env: dict[str, str],
) -> None:
    from tests.fake_server import FakeServer

    with FakeServer() as srv:
        done = lmtui(
            env, "ask", "--base-url", srv.base_url, "--preset", "SQL", "--no-save", "count rows"
        )
        bodies = [r.json_body for r in srv.requests_to("/v1/chat/completions")]
    assert done.returncode == 0, done.stderr
    assert bodies[0]["model"] == "qwen2.5-7b-instruct"
    assert bodies[0]["temperature"] == 0.1
    assert (
        "lmtui: preferred sqlcoder-7b-2 is not on this server; using loaded qwen2.5-7b-instruct\n"
    ) in done.stderr
