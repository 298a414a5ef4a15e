"""The tmux pane a benchmark runs the app in: its commands, its text, waiting on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


class Pane:
    """One tmux session, on a private server (``socket``) or the default one."""

    def __init__(self, session: str, socket: str | None = None) -> None:
        self.session = session
        self._server = ["-L", socket] if socket else []

    def tmux(self, *args: str) -> str:
        """Run one tmux command against this pane's server; return its output."""
        done = subprocess.run(
            ["tmux", *self._server, *args], capture_output=True, text=True, check=False
        )
        return done.stdout

    def screen(self) -> str:
        """The visible text of the pane."""
        return self.tmux("capture-pane", "-p", "-t", self.session)

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
