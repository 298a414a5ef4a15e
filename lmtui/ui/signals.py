"""SIGTERM and SIGHUP in the terminal app: stop like Ctrl+C, save, restore the terminal.

A dropped SSH session sends SIGHUP; ``kill`` and service managers send SIGTERM. By
default either ends the process at once: the terminal is left in the alternate screen
with mouse tracking on and the cursor hidden, the reply being streamed stays marked
"streaming" and the draft's last keystrokes are lost. Here each is handled the way the
stop and quit keys are: the reply is stopped (saved, marked stopped), the draft saved,
and the app exits through Textual, which restores the terminal. A second signal while
that runs exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from types import FrameType

from textual.app import App

from lmtui.ui.textual_compat import install_terminal_loss_guard

# How long a hangup waits for the stopped reply (and any other work) to end before quitting.
STOP_WAIT = 5.0

HANGUP_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s
)


def stop_on_hangup(app: App[object]) -> None:
    """Handle SIGTERM and SIGHUP for ``app`` (call before ``app.run()``).

    A terminal that goes away (every write to it fails) counts as a hangup too, whether
    or not the kernel's SIGHUP reaches this process.
    """
    pending: list[asyncio.Task[None]] = []
    lost = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the app is not running (yet, or any more)
            raise SystemExit(128 + signum) from None
        if pending or requested.is_set():
            # Asked twice: do not wait any longer, unless the terminal is gone (then the
            # second is the kernel's SIGHUP meeting ours, and no one is waiting to quit).
            if not lost.is_set():
                loop.call_soon_threadsafe(app.exit, None, 128 + signum)
            return
        requested.set()
        loop.call_soon_threadsafe(lambda: pending.append(loop.create_task(_leave(app, signum))))

    requested = threading.Event()

    def terminal_lost() -> None:
        # From Textual's output thread, which the loop may be waiting on: never block here.
        lost.set()
        if not requested.is_set() and hasattr(signal, "SIGHUP"):
            os.kill(os.getpid(), signal.SIGHUP)

    for sig in HANGUP_SIGNALS:
        signal.signal(sig, handler)
    install_terminal_loss_guard(terminal_lost)


async def _leave(app: App[object], signum: int) -> None:
    """Stop the reply and wait for it to be saved, then quit as the quit key does.

    Every worker is cancelled (the streaming reply's among them: it keeps its partial
    text, marked stopped), as Textual would at exit, but while the screens are still
    there to save what they hold; then the app quits once they have ended, or after
    :data:`STOP_WAIT` seconds.
    """
    workers = list(app.workers)
    for worker in workers:
        worker.cancel()
    # A cancelled worker's wait() raises: gather every one, not only up to the first.
    waits = asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(waits, timeout=STOP_WAIT)
    try:
        await app.run_action("quit")  # saves the draft
    finally:
        if app.is_running:
            app.exit(None, 128 + signum)
