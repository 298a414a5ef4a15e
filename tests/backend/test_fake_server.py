"""The fake server itself: its command line (used by benchmarks and tmux tests) and its
clean shutdown."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lmtui.backend.errors import ModelNotFound, ServerUnreachable
from tests.backend.helpers import LOADED_LLM as LOADED
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer, Reply, embed_text, markdown_deltas

SCRIPT = Path(__file__).resolve().parent.parent / "fake_server.py"


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[str]]]:
    """Start fake servers as processes; any still running at the end are killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start(procs: list[subprocess.Popen[str]], *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url


def stream_contents(url: str) -> list[str]:
    body = {"model": "qwen2.5-7b-instruct", "messages": [{"role": "user", "content": "x"}]}
    pieces: list[str] = []
    with httpx.stream("POST", url + "/v1/chat/completions", json={**body, "stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        pieces.append(text)
    return pieces


def stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_streams_markdown_and_stops_on_signal(
    spawn: list[subprocess.Popen[str]], sig: signal.Signals
) -> None:
    proc, url = start(spawn, "--deltas", "150", "--markdown")
    assert url.startswith("http://127.0.0.1:")
    pieces = stream_contents(url)
    assert pieces == markdown_deltas(150)
    assert all(len(p) <= 4 for p in pieces)
    text = "".join(pieces)
    assert "# " in text and "```python" in text and "**" in text and "\n- " in text
    code, out, err = stop(proc, sig)
    assert (code, out, err) == (0, "", "")  # exactly one line on stdout, and quiet


def test_cli_delta_text_and_no_native(spawn: list[subprocess.Popen[str]]) -> None:
    proc, url = start(spawn, "--deltas", "7", "--delta-text", "ab ", "--no-native")
    assert stream_contents(url) == ["ab "] * 7
    assert httpx.get(url + "/api/v1/models").status_code == 404
    assert httpx.get(url + "/api/v0/models").status_code == 404
    assert httpx.get(url + "/v1/models").status_code == 200
    assert stop(proc, signal.SIGTERM)[0] == 0


def test_cli_without_deltas_echoes(spawn: list[subprocess.Popen[str]]) -> None:
    proc, url = start(spawn)
    assert "".join(stream_contents(url)) == "x"
    assert stop(proc, signal.SIGTERM)[0] == 0


def test_close_ends_every_thread_even_with_idle_and_stalled_connections() -> None:
    before = set(threading.enumerate())
    srv = FakeServer().start()
    idle = socket.create_connection(("127.0.0.1", srv.port))  # says nothing: handler waits
    srv.enqueue(Reply(deltas=["a", "b"], stall_after=1, stall_seconds=60))
    stalled = httpx.Client(base_url=srv.base_url, timeout=30)
    body = {"model": "qwen2.5-7b-instruct", "messages": [], "stream": True}
    with stalled.stream("POST", "/v1/chat/completions", json=body) as resp:
        first = next(resp.iter_lines())
        assert first.startswith("data: ")
        srv.close()  # must not wait for the 60 s stall
    stalled.close()
    idle.close()
    assert set(threading.enumerate()) == before


def test_requests_are_recorded_with_lowercase_headers(fake_server: FakeServer) -> None:
    httpx.post(
        fake_server.base_url + "/v1/embeddings",
        json={"model": "text-embedding-nomic-embed-text-v1.5", "input": "hi"},
        headers={"X-Test": "1"},
    )
    rec = fake_server.requests[0]
    assert (rec.method, rec.path, rec.headers["x-test"]) == ("POST", "/v1/embeddings", "1")
    assert rec.json_body == {"model": "text-embedding-nomic-embed-text-v1.5", "input": "hi"}
    assert rec.done.wait(10)


def test_embeddings_are_unit_vectors() -> None:
    for text in ["", "one", "many words in a row"]:
        vec = embed_text(text)
        assert abs(sum(x * x for x in vec) - 1.0) < 1e-9


def test_run_lmtui_reaches_the_fake_server(fake_server: FakeServer, run_lmtui: RunLmtui) -> None:
    done = run_lmtui("--base-url", fake_server.base_url, "ask", "--model", LOADED, "hello there")
    assert done.returncode == 0, done.stderr
    assert "hello there" in done.stdout
    chats = fake_server.requests_to("/v1/chat/completions")
    assert chats[-1].json_body["messages"][-1] == {"role": "user", "content": "hello there"}


def test_run_lmtui_reports_a_typed_error(fake_server: FakeServer, run_lmtui: RunLmtui) -> None:
    done = run_lmtui("--base-url", fake_server.base_url, "ask", "--model", "nope", "hi")
    assert done.returncode == ModelNotFound.exit_code
    assert "nope" in done.stderr


def test_run_lmtui_env_can_remove_variables(run_lmtui: RunLmtui, closed_port: int) -> None:
    env = {"LMTUI_BASE_URL": f"http://127.0.0.1:{closed_port}", "XDG_CACHE_HOME": None}
    done = run_lmtui("ask", "--model", LOADED, "hi", env=env)
    assert done.returncode == ServerUnreachable.exit_code
    assert str(closed_port) in done.stderr
