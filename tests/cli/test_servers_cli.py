"""``lmtui servers`` and ``--server`` through the real entry point, in a subprocess."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_server import FakeModel, FakeServer

REPO = Path(__file__).resolve().parents[2]


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Lmtui:
    """Runs ``python -m lmtui`` with private XDG dirs and a config file in tmp."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = tmp_path / "xdg_config_home" / "lmtui" / "config.toml"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LMTUI_") and k not in ("LM_API_TOKEN", "GPU_TOKEN")
        }
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            self.env[name] = str(tmp_path / name.lower())
        self.env["PYTHONPATH"] = str(REPO)

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config.write_text(text, "utf-8")
        self.config.chmod(0o600)

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lmtui", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )


@pytest.fixture
def lmtui(tmp_path: Path) -> Lmtui:
    return Lmtui(tmp_path)


def test_servers_json_reports_each_server(lmtui: Lmtui) -> None:
    down = free_closed_port()
    with FakeServer() as healthy, FakeServer(native_v1=False, native_v0=False) as plain:
        plain_url = plain.base_url
        lmtui.write_config(
            f'base_url = "{healthy.base_url}"\n'
            f'[servers.down]\nbase_url = "http://127.0.0.1:{down}"\nnotes = "switched off"\n'
            f'[servers.plain]\nbase_url = "{plain.base_url}/v1"\n'
            f'token_env = "GPU_TOKEN"\n'
        )
        result = lmtui.run("servers", "--json", GPU_TOKEN="hunter2-secret")
    assert result.returncode == 0, result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["active"] == "default"
    assert data["config"] == str(lmtui.config)
    by_name = {s["name"]: s for s in data["servers"]}
    assert list(by_name) == ["default", "down", "plain", "local"]

    assert by_name["default"]["active"] is True
    assert by_name["default"]["reachable"] is True
    assert by_name["default"]["kind"] == "lmstudio"
    assert by_name["default"]["api_levels"] == ["api/v1", "api/v0", "v1"]
    assert by_name["default"]["models"] == len(healthy.models)
    assert isinstance(by_name["default"]["latency_ms"], float)

    assert by_name["down"]["reachable"] is False
    assert "refused" in by_name["down"]["error"]
    assert by_name["down"]["remedy"]
    assert by_name["down"]["notes"] == "switched off"

    assert by_name["plain"]["reachable"] is True
    assert by_name["plain"]["base_url"] == plain_url
    assert by_name["plain"]["api_levels"] == ["v1"]
    assert by_name["plain"]["kind"] == "other"
    assert by_name["plain"]["token"] == "set"
    assert by_name["plain"]["token_source"] == "env:GPU_TOKEN"
    assert by_name["plain"]["insecure_token"] is False  # loopback

    assert by_name["local"]["embedded"] is True
    assert by_name["local"]["reachable"] is None


def test_servers_table_marks_the_active_one_and_explains_the_down_one(lmtui: Lmtui) -> None:
    down = free_closed_port()
    with FakeServer() as healthy:
        lmtui.write_config(
            f'[servers.desk]\nbase_url = "{healthy.base_url}"\n'
            f'[servers.off]\nbase_url = "http://127.0.0.1:{down}"\ntoken_env = "GPU_TOKEN"\n'
        )
        result = lmtui.run("--server", "desk", "servers")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    desk = next(line for line in lines if " desk " in line)
    assert desk.startswith("*") and " up " in desk and "LM Studio" in desk
    off = next(line for line in lines if " off " in line)
    assert " down " in off and "env:GPU_TOKEN (unset)" in off
    assert any(line.strip().startswith("off: Cannot reach") for line in lines)


def test_server_flag_routes_models_to_that_server(lmtui: Lmtui) -> None:
    with FakeServer() as first, FakeServer() as second:
        first_url = first.base_url
        second.models[:] = [FakeModel("only-on-second", loaded=True)]
        lmtui.write_config(
            f'base_url = "{first.base_url}"\n[servers.two]\nbase_url = "{second.base_url}"\n'
        )
        before = len(first.requests)
        for argv in (("--server", "two", "models", "--json"), ("models", "--server", "two")):
            result = lmtui.run(*argv)
            assert result.returncode == 0, result.stderr
            assert "only-on-second" in result.stdout
        assert len(first.requests) == before  # the default server was never asked
        plain = lmtui.run("models", "--json")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["base_url"] == first_url
    assert "only-on-second" not in plain.stdout


def test_lmtui_server_env_and_flags_winning(lmtui: Lmtui) -> None:
    with FakeServer() as first, FakeServer() as second:
        first_url, second_url = first.base_url, second.base_url
        second.models[:] = [FakeModel("only-on-second", loaded=True)]
        lmtui.write_config(f'base_url = "{first_url}"\n[servers.two]\nbase_url = "{second_url}"\n')
        by_env = lmtui.run("models", "--json", LMTUI_SERVER="two")
        flag_wins = lmtui.run("models", "--json", "--base-url", first.base_url, LMTUI_SERVER="two")
        server_flag_wins = lmtui.run("models", "--json", "--server", "default", LMTUI_SERVER="two")
    assert json.loads(by_env.stdout)["base_url"] == second_url
    assert json.loads(flag_wins.stdout)["base_url"] == first_url
    assert json.loads(server_flag_wins.stdout)["base_url"] == first_url


def test_unknown_server_lists_the_profiles(lmtui: Lmtui) -> None:
    lmtui.write_config('[servers.gpu]\nbase_url = "http://127.0.0.1:11234"\n')
    result = lmtui.run("--server", "gpuu", "models")
    assert result.returncode == 2
    assert "No server profile named 'gpuu'" in result.stderr
    assert "default, gpu, local" in result.stderr
    assert "Traceback" not in result.stderr
    env_result = lmtui.run("models", LMTUI_SERVER="nope")
    assert env_result.returncode == 2 and "'nope'" in env_result.stderr


def test_bad_profile_is_reported_with_file_line_and_key(lmtui: Lmtui) -> None:
    lmtui.write_config('[servers.gpu]\nbase_url = "http://127.0.0.1:11234"\nread_timeout = "x"\n')
    result = lmtui.run("servers")
    assert result.returncode == 2
    assert f"{lmtui.config}: line 3: [servers.gpu] 'read_timeout'" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_over_plain_http_is_warned_about_once(lmtui: Lmtui) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed, so the probe just times out.
    lmtui.write_config(
        '[servers.lan]\nbase_url = "http://192.0.2.1:1234"\ntoken_env = "GPU_TOKEN"\n'
        '[servers.tunnel]\nbase_url = "http://127.0.0.1:1"\ntoken_env = "GPU_TOKEN"\n'
    )
    result = lmtui.run("--server", "lan", "servers", "--timeout", "0.2", GPU_TOKEN="tok-abcdef")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.stderr
    assert "'lan'" in warnings[0] and "unencrypted" in warnings[0]
    assert "tok-abcdef" not in result.stdout + result.stderr
    quiet = lmtui.run("--server", "tunnel", "models", GPU_TOKEN="tok-abcdef")
    assert "warning" not in quiet.stderr


def test_server_local_means_local(lmtui: Lmtui) -> None:
    result = lmtui.run("--server", "local", "servers", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["active"] == "local"
    local = next(s for s in data["servers"] if s["name"] == "local")
    assert local["active"] is True and local["embedded"] is True


def test_bad_timeout_is_refused(lmtui: Lmtui) -> None:
    result = lmtui.run("servers", "--timeout", "0")
    assert result.returncode == 2
    assert "--timeout" in result.stderr


def test_unset_token_variable_is_pointed_out(lmtui: Lmtui) -> None:
    lmtui.write_config('[servers.gpu]\nbase_url = "http://127.0.0.1:1"\ntoken_env = "GPU_TOKEN"\n')
    result = lmtui.run("--server", "gpu", "servers", "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "server 'gpu': no token sent, the environment variable GPU_TOKEN is not set" in (
        result.stderr
    )


def test_load_effective_config_applies_the_profile_under_the_flags(tmp_path: Path) -> None:
    from lmtui.cli.common import load_effective_config

    path = tmp_path / "config.toml"
    path.write_text(
        'model = "top"\n[servers.gpu]\nbase_url = "http://127.0.0.1:11234"\n'
        'model = "gpu-model"\npreset = "Code"\nread_timeout = 9\n'
    )
    args = argparse.Namespace(config=str(path), server="gpu", model=None, base_url=None)
    cfg = load_effective_config(args)
    assert (cfg.server, cfg.base_url, cfg.model, cfg.preset, cfg.read_timeout) == (
        "gpu",
        "http://127.0.0.1:11234",
        "gpu-model",
        "Code",
        9.0,
    )
    flags = argparse.Namespace(config=str(path), server="gpu", model="mine", base_url="h:1")
    cfg = load_effective_config(flags)
    assert (cfg.base_url, cfg.model) == ("http://h:1", "mine")
    local = argparse.Namespace(config=str(path), server="local")
    assert load_effective_config(local).server == "local"
    assert local.local is True  # --server local is --local
