"""Server profiles in config.toml: parsing, tokens, errors and switching."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.store.config import Config, load_config
from lmtui.store.profiles import DEFAULT, LOCAL, ServerProfile, line_in_profile

FULL = """\
base_url = "http://localhost:1234"
model = "top-model"
preset = "Top preset"
connect_timeout = 4
read_timeout = 200

[servers.desk]
base_url = "http://localhost:1235/v1/"

[servers.gpu]
base_url = "http://127.0.0.1:11234"     # through ssh -L 11234:localhost:1234 gpu-box
token_env = "GPU_LMSTUDIO_TOKEN"
connect_timeout = 3
read_timeout = 120
model = "qwen2.5-coder-7b-instruct"
preset = "TypeScript code"
notes = "the box under the desk"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    path.chmod(mode)
    return path


def test_profiles_are_parsed_in_order_with_default_first_and_local_last(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={"GPU_LMSTUDIO_TOKEN": "s3cret"})
    assert list(cfg.profiles()) == [DEFAULT, "desk", "gpu", LOCAL]
    gpu = cfg.servers["gpu"]
    assert gpu.base_url == "http://127.0.0.1:11234"
    assert gpu.token == "s3cret"
    assert gpu.token_source == "env:GPU_LMSTUDIO_TOKEN"
    assert (gpu.connect_timeout, gpu.read_timeout) == (3.0, 120.0)
    assert gpu.model == "qwen2.5-coder-7b-instruct"
    assert gpu.preset == "TypeScript code"
    assert gpu.notes == "the box under the desk"
    assert not gpu.embedded


def test_unset_profile_values_inherit_top_level_timeouts_only(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={})
    desk = cfg.servers["desk"]
    assert desk.base_url == "http://localhost:1235"  # /v1 and slash dropped
    assert (desk.connect_timeout, desk.read_timeout) == (4.0, 200.0)
    assert desk.model is None and desk.token is None and desk.token_source is None


def test_default_profile_is_the_top_level_settings_with_environment(tmp_path: Path) -> None:
    env = {"LMTUI_BASE_URL": "http://127.0.0.1:9999/v1", "LMTUI_API_TOKEN": "tok"}
    cfg = load_config(write(tmp_path, FULL), env=env)
    default = cfg.profiles()[DEFAULT]
    assert default.base_url == "http://127.0.0.1:9999"
    assert default.token == "tok" and default.token_source == "env:LMTUI_API_TOKEN"
    assert default.model == "top-model" and default.preset == "Top preset"


def test_local_profile_is_built_in_and_embedded(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "missing.toml", env={})
    local = cfg.profiles()[LOCAL]
    assert local.embedded and local.base_url == ""
    assert list(cfg.profiles()) == [DEFAULT, LOCAL]
    # A Config built by hand (no file read) still has both built-in profiles.
    assert list(Config().profiles()) == [DEFAULT, LOCAL]


def test_token_env_that_is_unset_gives_no_token_and_says_why(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={})
    gpu = cfg.servers["gpu"]
    assert gpu.token is None
    assert gpu.token_problem == "the environment variable GPU_LMSTUDIO_TOKEN is not set"


def test_api_token_in_a_private_file_is_used(tmp_path: Path) -> None:
    text = '[servers.lan]\nbase_url = "http://192.168.1.20:1234"\napi_token = "filetok"\n'
    cfg = load_config(write(tmp_path, text, 0o600), env={})
    assert cfg.servers["lan"].token == "filetok"
    assert cfg.servers["lan"].token_source == "config"


def test_api_token_in_a_readable_file_is_refused(tmp_path: Path) -> None:
    text = '[servers.lan]\nbase_url = "http://192.168.1.20:1234"\napi_token = "filetok"\n'
    path = write(tmp_path, text, 0o644)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(path) in info.value.message
    assert "line 3" in info.value.message and "api_token" in info.value.message
    assert "filetok" not in info.value.message and "filetok" not in info.value.remedy
    assert "chmod 600" in info.value.remedy


def test_token_never_in_repr() -> None:
    profile = ServerProfile(name="x", base_url="http://h:1", token="hush-hush")
    assert "hush-hush" not in repr(profile)


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ('base_url = "http://h:1"\nread_timeout = -1\n', 3, "'read_timeout' must be a positive"),
        ('base_url = "http://h:1"\nconnect_timeout = true\n', 3, "'connect_timeout'"),
        ('base_url = "http://h:1"\nmodel = 7\n', 3, "'model' must be a string"),
        ('base_url = "http://h:1"\nbase_ulr = "x"\n', 3, "unknown setting 'base_ulr'"),
        ('notes = "no url"\n', 1, "has no 'base_url'"),
        ('base_url = "ftp://h:1"\n', 2, "not an http(s) URL"),
        ('base_url = "http://h:99999"\n', 2, "bad port"),
        ('base_url = "http://h:"\n', 2, "bad port"),
        ('base_url = "http://h:x1"\n', 2, "bad port"),
        ('base_url = "http://h:1"\ntoken_env = "not a name"\n', 3, "must name an environment"),
        (
            'base_url = "http://h:1"\ntoken_env = "A"\napi_token = "b"\n',
            4,
            "both 'token_env' and 'api_token'",
        ),
    ],
)
def test_bad_profile_names_file_line_and_key(
    tmp_path: Path, body: str, line: int, needle: str
) -> None:
    path = write(tmp_path, 'model = "m"\n[servers.bad]\n' + body)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = info.value.message
    assert message.startswith(f"{path}: line {line + 1}: [servers.bad]"), message
    assert needle in message
    assert info.value.exit_code == 2
    assert path.read_bytes() == before  # never rewritten


@pytest.mark.parametrize("name", ["local", "default"])
def test_builtin_names_cannot_be_redefined(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f'[servers.{name}]\nbase_url = "http://h:1"\n')
    with pytest.raises(ConfigError, match="built in"):
        load_config(path, env={})


def test_servers_must_hold_tables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(write(tmp_path, '[servers]\ngpu = "http://h:1"\n'), env={})
    with pytest.raises(ConfigError, match="'servers' must hold tables"):
        load_config(write(tmp_path, 'servers = "gpu"\n'), env={})


def test_inline_table_profiles_are_read_and_located(tmp_path: Path) -> None:
    path = write(tmp_path, '[servers]\nbox = { base_url = "http://h:1", read_timeout = 0 }\n')
    with pytest.raises(ConfigError, match="line 2"):
        load_config(path, env={})
    path = write(tmp_path, '[servers]\nbox = { base_url = "http://h:1" }\n')
    assert load_config(path, env={}).servers["box"].base_url == "http://h:1"


def test_line_in_profile_finds_the_key_in_its_own_table(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    assert line_in_profile(path, "gpu", "model") == "line 15"
    assert line_in_profile(path, "desk", None) == "line 7"
    assert line_in_profile(path, "nowhere", "model") == "unknown line"


def test_with_server_applies_the_profile(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={"GPU_LMSTUDIO_TOKEN": "s3cret"})
    gpu = cfg.with_server("gpu")
    assert gpu.server == "gpu"
    assert gpu.base_url == "http://127.0.0.1:11234"
    assert gpu.api_token == "s3cret" and gpu.token_source == "env:GPU_LMSTUDIO_TOKEN"
    assert (gpu.connect_timeout, gpu.read_timeout) == (3.0, 120.0)
    assert gpu.model == "qwen2.5-coder-7b-instruct" and gpu.preset == "TypeScript code"


def test_with_server_never_carries_the_default_token_or_model_elsewhere(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={"LMTUI_API_TOKEN": "default-token"})
    desk = cfg.with_server("desk")
    assert desk.api_token is None and desk.token_source is None
    assert desk.model is None  # a model id belongs to a server
    assert desk.preset == "Top preset"  # presets live here, not on the server
    back = desk.with_server(DEFAULT)
    assert back.base_url == "http://localhost:1234" and back.api_token == "default-token"
    assert back.model == "top-model" and back.connect_timeout == 4.0


def test_with_server_local_keeps_url_and_drops_token(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={"LMTUI_API_TOKEN": "default-token"})
    local = cfg.with_server(LOCAL)
    assert local.server == LOCAL and local.api_token is None and local.model is None


def test_with_server_unknown_lists_the_names(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={})
    with pytest.raises(ConfigError) as info:
        cfg.with_server("gpuu")
    assert "'gpuu'" in info.value.message
    assert "default, desk, gpu, local" in info.value.remedy
    assert info.value.exit_code == 2


def test_load_config_reads_token_env_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPU_LMSTUDIO_TOKEN", "from-process")
    monkeypatch.setenv("LMTUI_CONFIG", str(write(tmp_path, FULL)))
    assert load_config().servers["gpu"].token == "from-process"
