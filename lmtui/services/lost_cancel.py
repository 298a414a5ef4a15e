"""Raising a task's cancellation that a library swallowed.

AnyIO can swallow a ``Task.cancel()`` that lands while it cancels its own work (its
issue #1214, in ``connect_tcp``, under httpx): the request then returns normally and
the task goes on, still counting the cancellation in ``cancelling()``. A loop that
sends requests (following a download, waiting for a server to load its model) would
then go on after Ctrl+C or Esc; seen once in a clean-clone run of our tests.
"""

from __future__ import annotations

import asyncio


def raise_a_lost_cancellation() -> None:
    """Raise ``CancelledError`` when this task was cancelled and a library swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
