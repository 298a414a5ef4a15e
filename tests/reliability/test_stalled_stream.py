"""A reply that streamed text and then only keep-alives: the text is saved on a timer.

The hostile server sends a few deltas, then SSE comments (keep-alives) forever. lmtui
must have the text on disk at most about a second later, even if the process is then
killed outright (SIGKILL: no handler runs, only what was already written counts), and a
SIGTERM or SIGHUP stops it like Ctrl+C: the partial reply saved, marked stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from lmtui.store.history import HistoryStore
from tests.conftest import REPO_ROOT
from tests.reliability.conftest import lmtui_env
from tests.reliability.hostile_server import TEXT, HostileServer, keepalive_stream, models_or

SENT = "".join(TEXT.split(" ")[:4])


def start_ask(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lmtui", "--base-url", url, "-m", "m", "ask", "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=lmtui_env(),
        cwd=REPO_ROOT,
    )


def stored_reply() -> tuple[str, str]:
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    reply = messages[-1]
    return reply.content, reply.state


def read_until(proc: subprocess.Popen[bytes], text: str) -> None:
    assert proc.stdout is not None
    got = b""
    while text.encode() not in got:
        chunk = os.read(proc.stdout.fileno(), 4096)
        assert chunk, "lmtui ended before printing the text"
        got += chunk


def wait_saved(expected: str) -> str:
    """Poll the database (another process writes the reply) until it holds ``expected``."""
    stop = threading.Event()
    for _ in range(100):  # bounded: 10 s at most, usually ~1 s
        content, _state = stored_reply()
        if content == expected:
            return content
        stop.wait(0.1)
    return content


def test_text_before_a_stall_is_on_disk_even_after_sigkill() -> None:
    with HostileServer(models_or(lambda req: keepalive_stream(srv.stop))) as srv:
        proc = start_ask(srv.base_url)
        try:
            read_until(proc, SENT)
            assert wait_saved(SENT) == SENT  # saved while only keep-alives arrive
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert stored_reply()[0] == SENT


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_ask_like_ctrl_c(sig: signal.Signals) -> None:
    with HostileServer(models_or(lambda req: keepalive_stream(srv.stop))) as srv:
        proc = start_ask(srv.base_url)
        try:
            read_until(proc, SENT)
            proc.send_signal(sig)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert code == 130, err
    assert "Traceback" not in err
    assert stored_reply() == (SENT, "stopped")
