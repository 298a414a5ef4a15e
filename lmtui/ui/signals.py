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
    """Stop the reply and wait for it to be saved, then quit as the quit key does."""
    with contextlib.suppress(Exception):
        await app.run_action("stop")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(app.workers.wait_for_complete(), timeout=5)
    try:
        await app.run_action("quit")  # saves the draft
    finally:
        if app.is_running:
            app.exit(None, 128 + signum)
