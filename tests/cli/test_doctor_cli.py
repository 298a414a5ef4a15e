"""``lmtui doctor`` and ``lmtui ask`` explaining a broken server, through the real entry point."""

from __future__ import annotations

import json
import socket
from typing import Any

from lmtui.backend.errors import NoModelLoaded, ServerUnreachable
from tests.conftest import RunLmtui
from tests.fake_models_admin import set_jit
from tests.fake_server import NO_MODELS_LOADED_FLAT, FakeServer


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def findings(stdout: str) -> dict[str, dict[str, Any]]:
    data = json.loads(stdout)
    return {f["id"]: f for f in data["findings"]}


def test_doctor_json_against_nothing(run_lmtui: RunLmtui) -> None:
    result = run_lmtui("doctor", "--json", "--base-url", closed_port_url())
    assert result.returncode != 0
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["reachable"] is False
    unreachable = findings(result.stdout)["unreachable"]
    assert unreachable["severity"] == "error"
    assert unreachable["remedy"] == ServerUnreachable.default_remedy


def test_doctor_json_healthy(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    result = run_lmtui("doctor", "--json", "--base-url", fake_server.base_url)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["server_kind"] == "lmstudio"
    loaded = {m["id"]: m["loaded_context_length"] for m in data["models"] if m["loaded"]}
    assert loaded["qwen2.5-7b-instruct"] == 8192
    assert all(f["severity"] in ("ok", "info") for f in data["findings"])


def test_doctor_json_no_models_loaded_jit_off(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    set_jit(fake_server, False)
    for model in fake_server.models:
        model.loaded = False
    result = run_lmtui("doctor", "--json", "--base-url", fake_server.base_url)
    assert result.returncode != 0
    data = json.loads(result.stdout)
    assert data["jit"] == "off"
    found = findings(result.stdout)["no_model_loaded"]
    assert found["severity"] == "error"
    # Both remedies: load one (with what LM Studio 0.4 offers), or turn JIT on.
    assert "lmtui models load" in found["remedy"] and "lms load" in found["remedy"]
    assert "Just-in-Time" in found["remedy"]


def test_doctor_jit_on_nothing_loaded_is_information(
    run_lmtui: RunLmtui, fake_server: FakeServer
) -> None:
    set_jit(fake_server, True)
    for model in fake_server.models:
        model.loaded = False
    result = run_lmtui("doctor", "--base-url", fake_server.base_url)
    assert result.returncode == 0, result.stdout
    assert "[info] No model loaded: LM Studio will load one on first use (JIT)" in result.stdout
    assert "healthy" in result.stdout
    as_json = run_lmtui("doctor", "--json", "--base-url", fake_server.base_url)
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["jit"] == "on"
    assert findings(as_json.stdout)["jit_will_load"]["severity"] == "info"
    # ... and it is true: ask works, LM Studio loads the model it names.
    asked = run_lmtui(
        "ask", "--base-url", fake_server.base_url, "-m", "deepseek-r1-distill-qwen-14b", "hi"
    )
    assert asked.returncode == 0, asked.stderr


def test_doctor_on_lmstudio_03_names_no_api_v1_action(run_lmtui: RunLmtui) -> None:
    # LM Studio 0.3.x (no /api/v1), JIT off, nothing loaded: /api/v0 lists nothing at all.
    with FakeServer(native_v1=False) as srv:
        set_jit(srv, False)
        for model in srv.models:
            model.loaded = False
        result = run_lmtui("doctor", "--json", "--base-url", srv.base_url)
    assert result.returncode != 0
    found = findings(result.stdout)["no_models"]
    assert "lms load" in found["remedy"] and "Just-in-Time" in found["remedy"]
    assert "lmtui models load" not in result.stdout and "sidebar" not in result.stdout


def test_doctor_text_names_the_remedy(run_lmtui: RunLmtui) -> None:
    result = run_lmtui("doctor", "--base-url", closed_port_url())
    assert result.returncode != 0
    assert "FAIL" in result.stdout and "remedy:" in result.stdout
    assert "lms server start" in result.stdout


def test_doctor_auth_required(run_lmtui: RunLmtui) -> None:
    with FakeServer(token="s3cret-token") as srv:
        refused = run_lmtui("doctor", "--json", "--base-url", srv.base_url)
        allowed = run_lmtui(
            "doctor", "--json", "--base-url", srv.base_url, env={"LMTUI_API_TOKEN": "s3cret-token"}
        )
    assert refused.returncode != 0
    assert "LMTUI_API_TOKEN" in findings(refused.stdout)["auth"]["remedy"]
    assert allowed.returncode == 0, allowed.stdout
    assert "s3cret-token" not in allowed.stdout + allowed.stderr


def test_ask_with_no_model_loaded_explains_and_exits_6(
    run_lmtui: RunLmtui, fake_server: FakeServer
) -> None:
    for model in fake_server.models:
        model.loaded = False
    result = run_lmtui(
        "ask", "--no-save", "-m", "qwen2.5-7b-instruct", "hello", "--base-url", fake_server.base_url
    )
    assert result.returncode == NoModelLoaded.exit_code == 6
    assert "No model is loaded" in result.stderr
    assert "lms load" in result.stderr


def test_ask_with_the_flat_no_models_error(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    fake_server.enqueue(NO_MODELS_LOADED_FLAT)
    result = run_lmtui("ask", "--no-save", "hello", "--base-url", fake_server.base_url)
    assert result.returncode == 6
    assert "lms load" in result.stderr
    assert result.stdout == ""
