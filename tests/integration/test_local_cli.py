"""``lmtui ask --local`` and ``lmtui local`` as a user runs them, with nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.helpers import REPO_ROOT, lmtui_env, pid_alive

pytestmark = pytest.mark.real_server


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment has ``name=value`` (this test's private dirs)."""
    needle = f"{name}={value}".encode()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in env and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def ours() -> list[int]:
    """Processes started by this test (they inherit its unique XDG_STATE_HOME)."""
    return processes_with_env("XDG_STATE_HOME", os.environ["XDG_STATE_HOME"])


def test_ask_local_replies_and_leaves_nothing_running() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmtui",
            "ask",
            "--local",
            "--max-tokens",
            "24",
            "Say hello to Anna.",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=lmtui_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert ours() == []


def test_local_serves_until_sigint_then_leaves_nothing(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmtui", "local", "--ctx", "512", "--parallel", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=lmtui_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Serving "), first + (proc.stderr.read() if proc.stderr else "")
        url = first.split()[-1]
        rest = [proc.stdout.readline() for _ in range(7)]
        assert any(f"curl {url}/v1/models" in line for line in rest)
        models = httpx.get(url + "/v1/models", timeout=5).json()
        assert models["data"][0]["id"] == "SmolLM2-135M-Instruct.Q4_1"
        running = ours()
        assert len(running) == 2  # lmtui local and its llama.cpp child
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert ours() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models", timeout=2)


def test_local_with_a_missing_gguf_is_a_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    proc = subprocess.run(
        [sys.executable, "-m", "lmtui", "local", "--gguf", str(missing)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=lmtui_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
