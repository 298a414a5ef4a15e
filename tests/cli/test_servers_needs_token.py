"""``lmtui servers`` tells a token-protected server ("needs token") from one that is down."""

from __future__ import annotations

import json

from tests.cli.test_servers_cli import Lmtui, free_closed_port, lmtui  # noqa: F401
from tests.fake_server import FakeServer


def test_servers_json_marks_a_token_protected_server_needs_token(lmtui: Lmtui) -> None:  # noqa: F811
    down = free_closed_port()
    with FakeServer(token="s3cret") as locked, FakeServer() as open_server:
        lmtui.write_config(
            f'base_url = "{open_server.base_url}"\n'
            f'[servers.locked]\nbase_url = "{locked.base_url}"\n'
            f'[servers.off]\nbase_url = "http://127.0.0.1:{down}"\n'
        )
        result = lmtui.run("servers", "--json")
        text = lmtui.run("servers")
    assert result.returncode == 0, result.stderr
    by_name = {s["name"]: s for s in json.loads(result.stdout)["servers"]}
    assert by_name["locked"]["state"] == "needs_token"
    assert by_name["locked"]["needs_token"] is True
    assert "LMTUI_API_TOKEN" in by_name["locked"]["remedy"]
    assert by_name["off"]["state"] == "down" and by_name["off"]["needs_token"] is False
    assert by_name["default"]["state"] == "up"
    assert by_name["local"]["state"] == "not_running"
    rows = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip()}
    assert "needs token" in rows["locked"] and "down" in rows["off"]
    assert "locked: needs an API token" in text.stdout
    assert "s3cret" not in result.stdout + text.stdout


def test_servers_says_which_variable_to_set(lmtui: Lmtui) -> None:  # noqa: F811
    with FakeServer(token="s3cret") as locked:
        lmtui.write_config(
            f'[servers.locked]\nbase_url = "{locked.base_url}"\ntoken_env = "GPU_TOKEN"\n'
        )
        result = lmtui.run("servers", "--json")
    by_name = {s["name"]: s for s in json.loads(result.stdout)["servers"]}
    assert by_name["locked"]["state"] == "needs_token"
    assert "GPU_TOKEN" in by_name["locked"]["remedy"]
