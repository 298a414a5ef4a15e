"""The tmux pane a benchmark runs the app in: its commands, its text, waiting on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

FLAGS = "no-output,ignore-size,read-only"  # what the control client asks for


class _Control:
    """A tmux control-mode client kept attached: a capture then starts no process.

    Polling the pane with ``tmux capture-pane`` started a tmux client every 5 ms, ~1.4 ms
    of CPU each on a 2-core machine the app and the fake server share: the measurement
    slowed what it measured. Attached read-only, without output and without a say in the
    window's size, this client only answers the commands it is sent.
    """

    def __init__(self, server: list[str], session: str) -> None:
        self.proc = subprocess.Popen(
            # The flags on the attach itself: a moment at control mode's own size would
            # resize the window under the app.
            [*("tmux", *server, "-C", "attach-session", "-t", session), "-f", FLAGS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def run(self, command: str) -> str | None:
        """``command``'s output; None when the client is gone (its session ended)."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(command + "\n")
            stdin.flush()
        except OSError:
            return None
        lines: list[str] = []
        inside = False
        for line in stdout:
            if not inside:
                # A block of the client's own command has flags 1 (the attach's has 0).
                inside = line.startswith("%begin") and line.split()[-1] == "1"
                if line.startswith("%exit"):
                    return None
                continue
            if line.startswith(("%end", "%error")):
                return "".join(lines)
            lines.append(line)
        return None

    def close(self) -> None:
        """Detach (the session stays)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


class Pane:
    """One tmux session, on a private server (``socket``) or the default one."""

    def __init__(self, session: str, socket: str | None = None) -> None:
        self.session = session
        self._server = ["-L", socket] if socket else []
        self._control: _Control | None = None

    def tmux(self, *args: str) -> str:
        """Run one tmux command against this pane's server; return its output."""
        done = subprocess.run(
            ["tmux", *self._server, *args], capture_output=True, text=True, check=False
        )
        return done.stdout

    def screen(self) -> str:
        """The visible text of the pane (through a control-mode client while it lasts)."""
        command = f"capture-pane -p -t {self.session}"
        control = self._control
        if control is None or control.proc.poll() is not None:
            if not self._exists():
                return self.tmux(*command.split())
            control = self._control = _Control(self._server, self.session)
        text = control.run(command)
        if text is None:  # the session ended under it
            self._control = None
            return self.tmux(*command.split())
        return text

    def _exists(self) -> bool:
        done = subprocess.run(
            ["tmux", *self._server, "has-session", "-t", self.session],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def close(self) -> None:
        """Detach the control-mode client, if one is attached."""
        if self._control is not None:
            self._control.close()
            self._control = None

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float, poll: float = 0.005
    ) -> float | None:
        """Poll the pane every ``poll`` s until ``predicate(text)``.

        Returns:
            The monotonic time it became true, or None after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.screen()):
                return time.monotonic()
            time.sleep(poll)
        return None
