"""How soon a thread waiting for the interpreter gets it: the frame writer, the key reader.

Textual writes each frame to the terminal from a thread of its own, and reads keys in
another. While the event loop runs Python (decoding a fast stream, drawing the next
chunk of Markdown), a waiting thread gets the GIL only when CPython's switch interval
runs out: 5 ms by default. The end of a fast reply queued its last frame, then drew the
chunks above it: the frame reached the terminal 5-8 ms after it was made, in most runs
(benchmarks/README.md, "TUI ÷ wire", session 7). At 0.5 ms the frame leaves within
~1.5 ms. A thread that does not wait for the GIL costs nothing, so an idle app is as it
was; while the app runs the interval is this module's, and it is given back at the end.
"""

from __future__ import annotations

import sys

#: The switch interval while the app runs, in seconds (CPython's default: 0.005).
SWITCH_INTERVAL_S = 0.0005


class QuickSwitches:
    """Sets :data:`SWITCH_INTERVAL_S` while the app runs; gives back the one it found."""

    def __init__(self) -> None:
        self._before: float | None = None

    def start(self) -> None:
        """Shorten the switch interval (once; a second call keeps the first one's)."""
        if self._before is None:
            self._before = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL_S)

    def stop(self) -> None:
        """Give back the interval :meth:`start` found (nothing when it never ran)."""
        if self._before is not None:
            sys.setswitchinterval(self._before)
            self._before = None
