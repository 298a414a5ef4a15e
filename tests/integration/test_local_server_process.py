"""The embedded server's child process: start, stop, crash, and never outliving its parent."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ConfigError, StreamInterrupted
from lmtui.backend.types import (
    CompletionRequest,
    ContentDelta,
    Finish,
    FinishReason,
    SamplingParams,
)
from lmtui.services.local_server import LocalServer, LocalServerFailed, server_answers
from tests.fake_server import FakeServer
from tests.integration.helpers import REPO_ROOT, children_of, lmtui_env, pid_alive, wait_gone

pytestmark = pytest.mark.real_server


def test_start_serves_and_stop_ends_the_child(smollm_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "local-server.log"
    server = LocalServer.start(smollm_path, context_length=512, parallel=1, log_path=log)
    try:
        assert server.alive
        assert server.model_id == "SmolLM2-135M-Instruct.Q4_1"
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server_answers(server.base_url)
        ids = [m["id"] for m in httpx.get(server.base_url + "/v1/models").json()["data"]]
        assert ids == [server.model_id]
    finally:
        status = server.stop()
    assert status == 0  # SIGTERM is a clean stop for the child
    assert not pid_alive(server.pid)
    assert server.stop() == 0  # idempotent
    assert not server_answers(server.base_url)
    # The log holds the server's chatter, privately.
    assert "llama" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_log_goes_to_the_state_dir_by_default(smollm_path: Path, tmp_path: Path) -> None:
    with LocalServer.start(smollm_path, context_length=256, parallel=1) as server:
        expected = Path(os.environ["XDG_STATE_HOME"]) / "lmtui" / "local-server.log"
        assert expected.is_relative_to(tmp_path)
        assert server.log_path == expected
    assert expected.stat().st_size > 0


def test_child_dies_when_the_parent_is_killed(smollm_path: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from lmtui.services.local_server import LocalServer
        s = LocalServer.start({str(smollm_path)!r}, context_length=256, parallel=1,
                              log_path=__import__("pathlib").Path({str(tmp_path / "l.log")!r}))
        print(s.pid, s.base_url, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=lmtui_env(),
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().split()
        assert line, "the parent never reported its server"
        child_pid, base_url = int(line[0]), line[1]
        assert pid_alive(child_pid)
        assert server_answers(base_url, timeout=2)
        parent.kill()  # SIGKILL: no atexit, no finally; only the child's own guards
        parent.wait(10)
        assert wait_gone(child_pid, within=5), "the server outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)


def test_started_from_a_thread_survives_the_thread(smollm_path: Path, tmp_path: Path) -> None:
    # Linux's parent-death signal fires when the spawning *thread* exits; the child must
    # check that the parent process is really gone before stopping.
    box: list[LocalServer] = []
    worker = threading.Thread(
        target=lambda: box.append(
            LocalServer.start(smollm_path, context_length=256, parallel=1, log_path=tmp_path / "l")
        )
    )
    worker.start()
    worker.join()
    with box[0] as server:
        assert not worker.is_alive()
        # A request takes longer than the signal needs to arrive and be handled.
        assert httpx.get(server.base_url + "/health", timeout=5).status_code == 200
        assert server_answers(server.base_url)
        assert server.alive


async def test_server_killed_mid_stream_interrupts_the_stream(
    smollm_path: Path, tmp_path: Path
) -> None:
    server = LocalServer.start(smollm_path, context_length=512, parallel=1, log_path=tmp_path / "l")
    request = CompletionRequest(
        server.model_id,
        "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,",
        SamplingParams(temperature=0.0, max_tokens=2000),
    )
    text = ""
    finish: Finish | None = None
    try:
        async with LMStudioClient(server.base_url, read_timeout=30) as client:
            with _either_interrupted() as outcome:
                async for event in client.stream_complete(request):
                    if isinstance(event, ContentDelta):
                        text += event.text
                        if len(text) > 10 and server.alive:
                            os.kill(server.pid, signal.SIGKILL)
                    if isinstance(event, Finish):
                        finish = event
        assert wait_gone(server.pid)
    finally:
        server.stop()
    assert text
    if outcome.raised is None:
        assert finish is not None
        assert finish.reason is FinishReason.INTERRUPTED
    assert server.returncode == -signal.SIGKILL


def test_bad_gguf_paths_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match="does not exist") as info:
        LocalServer.start(missing)
    assert str(missing) in info.value.message
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(ConfigError, match="not a GGUF") as info2:
        LocalServer.start(not_gguf)
    assert info2.value.remedy


def test_a_broken_gguf_fails_with_the_log_tail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)  # the magic, then nothing usable
    log = tmp_path / "broken.log"
    with pytest.raises(LocalServerFailed, match="exited during start-up") as info:
        LocalServer.start(broken, log_path=log, ready_timeout=30)
    assert str(log) in info.value.remedy
    assert "did not start" in info.value.remedy  # the child's own last words


def test_ready_timeout_is_reported_and_the_child_is_stopped(
    smollm_path: Path, tmp_path: Path
) -> None:
    before = set(_llama_children())
    with pytest.raises(LocalServerFailed, match="did not start within"):
        LocalServer.start(smollm_path, log_path=tmp_path / "l", ready_timeout=0.01)
    assert set(_llama_children()) <= before


def _llama_children() -> list[int]:
    return [
        pid
        for pid in children_of(os.getpid())
        if "llama_child" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        and pid_alive(pid)
    ]


class _Outcome:
    raised: BaseException | None = None


class _either_interrupted:
    """Accept either ending of a killed stream: a Finish(INTERRUPTED) or StreamInterrupted."""

    def __enter__(self) -> _Outcome:
        self.outcome = _Outcome()
        return self.outcome

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        if isinstance(exc, StreamInterrupted):
            self.outcome.raised = exc
            return True
        return False


def test_server_answers_only_when_a_server_does() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    assert server_answers(f"http://127.0.0.1:{free_port}") is False
    with FakeServer() as fake:
        assert server_answers(fake.base_url + "/v1") is True
    with FakeServer(token="secret") as fake:
        assert server_answers(fake.base_url) is True  # it is there; it wants a token
