"""``lmtui.store.config.load_config``: defaults, the file, environment overrides, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.store import paths
from lmtui.store.config import load_config
from tests.conftest import IsolatedDirs


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write a config file with the given permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_defaults_without_a_file(isolated_dirs: IsolatedDirs) -> None:
    cfg = load_config(env={})
    assert cfg.base_url == "http://localhost:1234"
    assert cfg.api_token is None and cfg.token_source is None
    assert cfg.model is None and cfg.preset is None and cfg.theme is None
    assert (cfg.connect_timeout, cfg.read_timeout) == (5.0, 300.0)
    assert cfg.save_history is True
    assert cfg.keys == {}
    assert cfg.path == isolated_dirs.config_file
    assert not isolated_dirs.config_file.exists()  # reading never creates the file


def test_file_values(isolated_dirs: IsolatedDirs) -> None:
    write_config(
        isolated_dirs.config_file,
        """
base_url = "http://studio.lan:1234/v1/"
model = "qwen2.5-7b-instruct"
preset = "coder"
theme = "lmtui-light"
connect_timeout = 2
read_timeout = 60.5
save_history = false

[keys]
send = "ctrl+j"

[local]
gguf = "/models/small.gguf"
port = 18080
context_length = 8192
""",
    )
    cfg = load_config(env={})
    assert cfg.base_url == "http://studio.lan:1234"
    assert (cfg.model, cfg.preset, cfg.theme) == ("qwen2.5-7b-instruct", "coder", "lmtui-light")
    assert cfg.connect_timeout == 2.0 and isinstance(cfg.connect_timeout, float)
    assert cfg.read_timeout == 60.5
    assert cfg.save_history is False
    assert cfg.keys == {"send": "ctrl+j"}
    assert (cfg.local.gguf, cfg.local.port, cfg.local.context_length) == (
        "/models/small.gguf",
        18080,
        8192,
    )


def test_env_overrides_the_file(isolated_dirs: IsolatedDirs) -> None:
    write_config(isolated_dirs.config_file, 'base_url = "http://a:1"\nmodel = "from-file"\n')
    env = {
        "LMTUI_BASE_URL": "b.example:9999/v1",
        "LMTUI_MODEL": "from-env",
        "LMTUI_API_TOKEN": "tok-lmtui",
        "LM_API_TOKEN": "tok-lm",
    }
    cfg = load_config(env=env)
    assert cfg.base_url == "http://b.example:9999"
    assert cfg.model == "from-env"
    assert cfg.api_token == "tok-lmtui"
    assert cfg.token_source == "env:LMTUI_API_TOKEN"


def test_lm_api_token_is_the_fallback() -> None:
    cfg = load_config(env={"LM_API_TOKEN": "tok-lm"})
    assert cfg.api_token == "tok-lm"
    assert cfg.token_source == "env:LM_API_TOKEN"
    assert "tok-lm" not in repr(cfg.servers)


def test_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMTUI_BASE_URL", "http://127.0.0.1:4321/v1")
    monkeypatch.setenv("LMTUI_MODEL", "m")
    cfg = load_config()
    assert (cfg.base_url, cfg.model) == ("http://127.0.0.1:4321", "m")


def test_empty_env_values_are_ignored() -> None:
    cfg = load_config(env={"LMTUI_BASE_URL": "", "LMTUI_API_TOKEN": "", "LMTUI_MODEL": ""})
    assert cfg.base_url == "http://localhost:1234"
    assert cfg.api_token is None and cfg.model is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:1234", "http://localhost:1234"),
        ("http://localhost:1234/", "http://localhost:1234"),
        ("http://localhost:1234/v1", "http://localhost:1234"),
        ("http://localhost:1234/v1/", "http://localhost:1234"),
        ("localhost:5678", "http://localhost:5678"),
    ],
)
def test_base_url_with_or_without_v1(
    isolated_dirs: IsolatedDirs, given: str, expected: str
) -> None:
    write_config(isolated_dirs.config_file, f'base_url = "{given}"\n')
    assert load_config(env={}).base_url == expected
    assert load_config(env={"LMTUI_BASE_URL": given}).base_url == expected


def test_malformed_toml_names_path_and_line_and_keeps_the_file(
    isolated_dirs: IsolatedDirs,
) -> None:
    path = write_config(isolated_dirs.config_file, 'model = "ok"\nbase_url = "unterminated\n')
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    message = str(info.value)
    assert str(path) in message
    assert "line 2" in message
    assert "\n" not in message  # one line
    assert info.value.remedy
    assert info.value.exit_code == 2
    assert path.read_bytes() == before


def test_non_utf8_file_is_a_config_error(isolated_dirs: IsolatedDirs) -> None:
    path = isolated_dirs.config_file
    path.parent.mkdir(parents=True)
    path.write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(env={})
    assert path.read_bytes() == b'model = "caf\xe9"\n'


def test_unknown_key_is_named_with_its_line(isolated_dirs: IsolatedDirs) -> None:
    write_config(isolated_dirs.config_file, 'model = "m"\n\nbase_ulr = "http://x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    assert "base_ulr" in str(info.value)
    assert "line 3" in str(info.value)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('read_timeout = "fast"', "read_timeout"),
        ("connect_timeout = true", "connect_timeout"),
        ('save_history = "yes"', "save_history"),
        ("model = 7", "model"),
        ("base_url = [1, 2]", "base_url"),
    ],
)
def test_wrong_types_are_refused(isolated_dirs: IsolatedDirs, line: str, key: str) -> None:
    write_config(isolated_dirs.config_file, line + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    assert key in str(info.value)
    assert "wrong type" in str(info.value)
    assert "line 1" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "read_timeout = 0\n",
        "connect_timeout = -1\n",
        "[keys]\nsend = 3\n",
        "[local]\nport = 70000\n",
        "[local]\nwhatever = 1\n",
    ],
)
def test_bad_values_are_refused(isolated_dirs: IsolatedDirs, text: str) -> None:
    write_config(isolated_dirs.config_file, text)
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    assert str(isolated_dirs.config_file) in str(info.value)


def test_token_in_a_private_file_is_used(isolated_dirs: IsolatedDirs) -> None:
    write_config(isolated_dirs.config_file, 'api_token = "sekrit"\n', mode=0o600)
    cfg = load_config(env={})
    assert cfg.api_token == "sekrit"
    assert cfg.token_source == "config"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_token_in_a_shared_file_is_refused(isolated_dirs: IsolatedDirs, mode: int) -> None:
    path = write_config(isolated_dirs.config_file, 'api_token = "sekrit"\n', mode=mode)
    with pytest.raises(ConfigError) as info:
        load_config(env={})
    assert "chmod 600" in info.value.remedy
    assert "sekrit" not in str(info.value) and "sekrit" not in info.value.remedy
    assert oct(os.stat(path).st_mode & 0o777) == oct(mode)  # never "fixed" behind your back


def test_a_shared_file_without_a_token_is_fine(isolated_dirs: IsolatedDirs) -> None:
    write_config(isolated_dirs.config_file, 'model = "m"\n', mode=0o644)
    assert load_config(env={}).model == "m"


def test_xdg_config_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere))
    write_config(elsewhere / "lmtui" / "config.toml", 'model = "from-xdg"\n')
    assert paths.config_file() == elsewhere / "lmtui" / "config.toml"
    cfg = load_config(env={})
    assert cfg.model == "from-xdg"
    assert cfg.path == elsewhere / "lmtui" / "config.toml"


def test_lmtui_config_points_at_another_file(tmp_path: Path) -> None:
    other = write_config(tmp_path / "other.toml", 'model = "from-other"\n')
    cfg = load_config(env={"LMTUI_CONFIG": str(other)})
    assert (cfg.model, cfg.path) == ("from-other", other)


def test_explicit_path_wins(tmp_path: Path, isolated_dirs: IsolatedDirs) -> None:
    write_config(isolated_dirs.config_file, 'model = "default-file"\n')
    other = write_config(tmp_path / "explicit.toml", 'model = "explicit"\n')
    assert load_config(other, env={"LMTUI_CONFIG": str(isolated_dirs.config_file)}).model == (
        "explicit"
    )
