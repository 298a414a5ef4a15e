"""native_chat and [integrations.NAME] in the config; header values stay secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.store.config import load_config
from lmtui.store.presets import _preset_from_data, preset_to_toml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def test_native_chat_defaults_to_auto_and_is_checked(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), env={}).native_chat == "auto"
    assert load_config(write(tmp_path, 'native_chat = "off"\n'), env={}).native_chat == "off"
    assert load_config(write(tmp_path, ""), env={"LMTUI_NATIVE_CHAT": "on"}).native_chat == "on"
    with pytest.raises(ConfigError, match="line 1: native_chat must be one of auto, on, off"):
        load_config(write(tmp_path, 'native_chat = "maybe"\n'), env={})


def test_integrations_plugin_and_ephemeral_with_secret_headers(tmp_path: Path) -> None:
    headers = tmp_path / "hf.headers"
    headers.write_text("# private\nX-Team: blue\n", encoding="utf-8")
    os.chmod(headers, 0o600)
    path = write(
        tmp_path,
        f"""
[integrations.playwright]
plugin = "mcp/playwright"
allowed_tools = ["browser_navigate"]

[integrations.hf]
server_url = "https://huggingface.co/mcp"
allowed_tools = ["model_search"]
headers_env = {{ Authorization = "HF_MCP_AUTH" }}
headers_file = "{headers}"
""",
    )
    cfg = load_config(path, env={"HF_MCP_AUTH": "Bearer hf_secret"})
    playwright, hf = cfg.integrations["playwright"], cfg.integrations["hf"]
    assert playwright.to_json() == {
        "type": "plugin",
        "id": "mcp/playwright",
        "allowed_tools": ["browser_navigate"],
    }
    assert hf.headers == {"Authorization": "Bearer hf_secret", "X-Team": "blue"}
    # Printing the config (a log, a debug dump) never shows a header's value.
    assert "hf_secret" not in repr(cfg) and "blue" not in repr(cfg)
    assert "hf_secret" not in str(hf.to_json(masked=True))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('plugin = "playwright"', 'must look like "mcp/<label>"'),
        ('server_url = "ftp://x"', r"http\(s\) URL"),
        ('plugin = "mcp/a"\nserver_url = "http://x"', "either plugin"),
        ('server_url = "http://x"\nheaders_env = { A = "UNSET_VAR_X" }', "UNSET_VAR_X"),
        ('plugin = "mcp/a"\ncolour = 1', r"unknown key\(s\) colour"),
    ],
)
def test_bad_integrations_are_named(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, f"[integrations.x]\n{table}\n"), env={})


def test_a_headers_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    headers = tmp_path / "h"
    headers.write_text("Authorization: Bearer s3cret\n", encoding="utf-8")
    os.chmod(headers, 0o644)
    path = write(
        tmp_path, f'[integrations.x]\nserver_url = "http://x"\nheaders_file = "{headers}"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "chmod 600" in info.value.remedy and "s3cret" not in info.value.message


def test_presets_take_reasoning_and_integrations(tmp_path: Path) -> None:
    preset = _preset_from_data(
        {"name": "Browse", "reasoning": "low", "integrations": ["playwright"]}, tmp_path / "b.toml"
    )
    assert (preset.reasoning, preset.integrations) == ("low", ("playwright",))
    text = preset_to_toml(preset)
    assert 'reasoning = "low"' in text and 'integrations = [\n    "playwright",\n]' in text
    with pytest.raises(Exception, match="'reasoning' must be one of"):
        _preset_from_data({"name": "x", "reasoning": "max"}, tmp_path / "x.toml")
