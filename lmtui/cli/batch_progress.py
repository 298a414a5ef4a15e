"""How ``lmtui batch`` shows its progress on stderr.

On a terminal: one live Rich display (rows done, valid / invalid / failed, rows/s,
ETA, one line per server) redrawn in place. Piped or redirected: one plain line
per finished row, so a log stays readable and greppable.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from lmtui.services.batch import BatchProgress
from lmtui.services.batch_pool import ServerPool


def _eta(p: BatchProgress) -> str:
    return f"{p.eta_s:.0f}s" if p.eta_s is not None else "?"


def summary_line(p: BatchProgress) -> str:
    """The counts of a run in one line."""
    finished = p.done + p.failed + p.invalid + p.skipped
    return (
        f"[{finished}/{p.total}] valid {p.done}, invalid {p.invalid}, failed {p.failed}, "
        f"skipped {p.skipped} · {p.rows_per_second:.2f} rows/s · ETA {_eta(p)}"
    )


def bar(done: int, total: int, width: int = 40) -> str:
    """A plain-character progress bar (legible without colour, e.g. NO_COLOR)."""
    filled = width * done // max(1, total)
    return "█" * filled + "░" * (width - filled) + f" {100 * done // max(1, total)}%"


def server_line(server: Any) -> str:
    """One server's state in one line (inert: the reason a server is out is its own text)."""
    from lmtui.services.terminal_text import make_inert

    state = f"OUT ({server.down_reason})" if server.down else f"{server.busy}/{server.slots} busy"
    return make_inert(
        f"{server.name}: {server.done} rows, {server.rows_per_second:.2f} rows/s, {state}, "
        f"slots {server.slots} ({server.slots_source})"
    )


class PlainProgress:
    """One line per finished row."""

    def __init__(self, pool: ServerPool, stream: TextIO | None = None) -> None:
        self.pool = pool
        self.stream = stream or sys.stderr

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, p: BatchProgress) -> None:
        """Print the line for the row that just finished."""
        servers = ""
        if len(self.pool.servers) > 1:
            servers = " · " + "; ".join(f"{s.name} {s.done}" for s in self.pool.servers)
        from lmtui.services.terminal_text import make_inert

        print(make_inert(summary_line(p) + servers), file=self.stream, flush=True)


class LiveProgress:
    """A Rich live display, redrawn in place on the terminal."""

    def __init__(self, pool: ServerPool, total: int) -> None:
        from rich.console import Console
        from rich.live import Live

        self.pool = pool
        self.total = total
        self.console = Console(stderr=True)
        self._live = Live(
            self._render(None),
            console=self.console,
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=True,
        )

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, p: BatchProgress) -> None:
        """Redraw with the latest counts."""
        self._live.update(self._render(p))

    def _render(self, p: BatchProgress | None) -> Any:
        from rich.console import Group
        from rich.text import Text

        finished = 0 if p is None else p.done + p.failed + p.invalid + p.skipped
        head = Text(summary_line(p) if p is not None else f"[0/{self.total}] starting…")
        lines = [Text("  " + server_line(s)) for s in self.pool.servers]
        return Group(head, Text(bar(finished, self.total)), *lines)


def progress_display(pool: ServerPool, total: int, stream: TextIO | None = None) -> Any:
    """The live display on a terminal, plain lines otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return LiveProgress(pool, total)
    return PlainProgress(pool, target)
