"""SIGTERM and SIGHUP to the streaming app, run for real in tmux: the terminal is restored
(alternate screen off, mouse tracking off, cursor shown) and the partial reply is saved,
marked stopped. tmux reports the terminal state it keeps for the pane after the app ends.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from lmtui.store.history import HistoryStore
from tests.conftest import REPO_ROOT
from tests.reliability.conftest import lmtui_env
from tests.reliability.hostile_server import TEXT, HostileServer, keepalive_stream, models_or

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
SENT = "".join(TEXT.split(" ")[:4])


class Tmux:
    """One private tmux server (its own socket) with one pane running a shell command.

    The pane's shell lives on after the app (as a user's login shell would), so tmux
    reports the terminal state the user is left with.
    """

    def __init__(self, command: str) -> None:
        self.socket = f"lmtui-test-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "t", command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def show(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "t", fmt).strip()

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, predicate: object, what: str, seconds: float = 30) -> None:
        tick = threading.Event()
        for _ in range(int(seconds / 0.1)):
            if predicate():  # type: ignore[operator]
                return
            tick.wait(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_streaming_app_restores_the_terminal_and_saves_the_reply(
    sig: signal.Signals, tmp_path: Path
) -> None:
    with HostileServer(models_or(lambda req: keepalive_stream(srv.stop))) as srv:
        env = lmtui_env({"PYTHONPATH": str(REPO_ROOT), "TERM": "xterm-256color"})
        keep = {
            k: v for k, v in env.items() if k.startswith(("XDG_", "PYTHON", "TERM", "PATH", "HOME"))
        }
        pidfile = tmp_path / "app.pid"
        app = " ".join(
            [
                "exec env",
                *(shlex.quote(f"{k}={v}") for k, v in keep.items()),
                shlex.quote(sys.executable),
                "-m lmtui --base-url",
                srv.base_url,
                "-m m",
            ]
        )
        inner = f"echo $$ > {shlex.quote(str(pidfile))}; {app}"
        command = f"sh -c {shlex.quote(inner)}; echo EXITED $?; sleep 120"
        tmux = Tmux(command)
        try:
            tmux.wait_for(lambda: tmux.show("#{alternate_on}") == "1", "the app to start")
            tmux.wait_for(lambda: "m" in tmux.screen(), "the first screen")
            tmux.tmux("send-keys", "-t", "t", "-l", "hi")
            tmux.tmux("send-keys", "-t", "t", "Enter")
            tmux.wait_for(lambda: "reply" in tmux.screen() or "words" in tmux.screen(), "the reply")
            assert tmux.show("#{mouse_any_flag}") == "1"  # the app had turned mouse tracking on
            os.kill(int(pidfile.read_text()), sig)
            tmux.wait_for(lambda: "EXITED" in tmux.screen(), "the app to exit")
            state = tmux.show("#{alternate_on} #{mouse_any_flag} #{cursor_flag}")
            screen = tmux.screen()
        finally:
            tmux.close()
    assert state == "0 0 1", (state, screen)
    assert "Traceback" not in screen
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    assert (messages[-1].content, messages[-1].state) == (SENT, "stopped")
