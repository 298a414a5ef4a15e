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
from tests.reliability.hostile_server import (
    TEXT,
    HostileServer,
    keepalive_stream,
    models_or,
    steady_stream,
)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
SENT = "".join(TEXT.split(" ")[:4])
# How often a wait looks again (a tmux client per look: fine-grained, still cheap).
POLL = 0.02


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
        for _ in range(int(seconds / POLL)):
            if predicate():  # type: ignore[operator]
                return
            tick.wait(POLL)
        raise AssertionError(f"timed out waiting for {what}:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def app_command(base_url: str, pidfile: Path) -> str:
    """A shell command running the app against ``base_url``, its pid written to ``pidfile``."""
    env = lmtui_env({"PYTHONPATH": str(REPO_ROOT), "TERM": "xterm-256color"})
    keep = {
        k: v for k, v in env.items() if k.startswith(("XDG_", "PYTHON", "TERM", "PATH", "HOME"))
    }
    app = " ".join(
        [
            "exec env",
            *(shlex.quote(f"{k}={v}") for k, v in keep.items()),
            shlex.quote(sys.executable),
            "-m lmtui --base-url",
            base_url,
            "-m m",
        ]
    )
    return f"sh -c {shlex.quote(f'echo $$ > {shlex.quote(str(pidfile))}; {app}')}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_streaming_app_restores_the_terminal_and_saves_the_reply(
    sig: signal.Signals, tmp_path: Path
) -> None:
    with HostileServer(models_or(lambda req: keepalive_stream(srv.stop))) as srv:
        pidfile = tmp_path / "app.pid"
        command = f"{app_command(srv.base_url, pidfile)}; echo EXITED $?; sleep 120"
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


@pytest.mark.parametrize("session", ["", "setsid -w "], ids=["pane", "no-sighup"])
def test_the_terminal_vanishing_mid_reply_ends_the_app_and_saves_the_reply(
    session: str, tmp_path: Path
) -> None:
    """A dropped SSH session or a killed terminal closes the pty under the app.

    The kernel sends SIGHUP and SIGCONT, and every write to the terminal fails. Textual's
    output thread used to die on the first failed write; the app then blocked for ever on
    its full queue (and its input thread spun on end-of-file at a third of a CPU), so the
    hangup handler never ran and the reply stayed "streaming". Under ``setsid`` the
    terminal is not the app's controlling one, so no SIGHUP comes: the failed writes alone
    must end it.
    """
    with HostileServer(models_or(lambda req: steady_stream(srv.stop))) as srv:
        pidfile = tmp_path / "app.pid"
        # The app is the pane's only process (as under `ssh -t host lmtui`).
        command = session + app_command(srv.base_url, pidfile)
        tmux = Tmux(command)
        try:
            tmux.wait_for(lambda: tmux.show("#{alternate_on}") == "1", "the app to start")
            tmux.wait_for(lambda: "model: m" in tmux.screen(), "the first screen")
            tmux.tmux("send-keys", "-t", "t", "-l", "hi")
            tmux.tmux("send-keys", "-t", "t", "Enter")
            tmux.wait_for(lambda: "w40 " in tmux.screen(), "the reply")
            pid = int(pidfile.read_text())
        finally:
            tmux.close()  # the terminal goes away under the app
        gone = threading.Event()
        for _ in range(int(30 / POLL)):
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                break
            gone.wait(POLL)
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the app outlived its terminal by 30 s")
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    reply = messages[-1]
    assert reply.state == "stopped"
    assert reply.content.startswith("w0 w1 w2 ") and "w40 " in reply.content


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
