"""History writes on a worker thread, so a locked or slow database never blocks the caller.

The TUI hands its writes (a streaming reply's saves, its final state, message edits and
deletes) to one :class:`WriteWorker`. The worker runs them in order on its own SQLite
connection; a write that fails is reported through ``on_problem`` and tried again with
a growing pause, never dropped silently. Pending writes under the same key are merged:
only the newest snapshot of a reply is written.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Hashable

from lmtui.backend.errors import LmtuiError
from lmtui.store.history import ConversationNotFound, HistoryStore

__all__ = ["WriteJob", "WriteWorker"]

WriteJob = Callable[[HistoryStore], object]
# Pauses between tries of a failing write (each try also waits the busy timeout).
RETRY_PAUSES = (0.1, 0.25, 0.5, 1.0)


class WriteWorker:
    """One thread that runs history writes in order, retrying the ones that fail.

    ``opener`` makes the worker's own store (a second connection, opened on the
    thread); ``on_problem(text)`` is called on the worker thread when a write fails
    (``text`` says what and that it will be retried) and ``on_recovered(text)`` when
    writes succeed again after a failure.
    """

    def __init__(
        self,
        opener: Callable[[], HistoryStore],
        *,
        on_problem: Callable[[str], None] | None = None,
        on_recovered: Callable[[str], None] | None = None,
    ) -> None:
        self._opener = opener
        self.on_problem = on_problem
        self.on_recovered = on_recovered
        self._cond = threading.Condition()
        self._order: collections.deque[Hashable] = collections.deque()
        self._jobs: dict[Hashable, tuple[str, WriteJob]] = {}
        self._running: Hashable | None = None
        self._closing = False
        self._held_until = 0.0  # time.monotonic() before which no write starts (hold())
        self._serial = 0
        self._store: HistoryStore | None = None
        self._failing = False
        #: The last failure's message while writes are failing, else None.
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._run, name="lmtui-history", daemon=True)
        self._thread.start()

    def submit(self, what: str, job: WriteJob, key: Hashable | None = None) -> None:
        """Queue ``job`` (called with the worker's store); ``what`` names it in reports.

        A job queued with the ``key`` of one still waiting replaces it in its place.
        """
        with self._cond:
            if self._closing:
                raise RuntimeError("the history writer is closed")
            if key is None:
                self._serial += 1
                key = ("job", self._serial)
            if key not in self._jobs:
                self._order.append(key)
            self._jobs[key] = (what, job)
            self._cond.notify_all()

    def hold(self, seconds: float) -> None:
        """Start no write for up to ``seconds``; :meth:`release` (or :meth:`close`) ends it sooner.

        The TUI holds the writes while a fast reply's prompt and end are drawn: the
        thread running a write takes the interpreter from the event loop for the Python
        part of it (benchmarks/README.md, "TUI ÷ wire", session 7). Nothing is dropped:
        the writes wait in order, and a write under way finishes. Holds do not stack:
        the later end wins.
        """
        with self._cond:
            self._held_until = max(self._held_until, time.monotonic() + seconds)

    def release(self) -> None:
        """End a :meth:`hold`: queued writes start now."""
        with self._cond:
            self._held_until = 0.0
            self._cond.notify_all()

    @property
    def held(self) -> bool:
        """True while a :meth:`hold` keeps writes from starting."""
        return time.monotonic() < self._held_until

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: submit no more."""
        return self._closing

    def pending(self) -> int:
        """How many writes are waiting or running."""
        with self._cond:
            return len(self._order) + (self._running is not None)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is done; False when ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._order and self._running is None, timeout=timeout
            )

    def close(self, timeout: float | None = None) -> int:
        """Finish the queued writes (up to ``timeout`` seconds), stop; return how many were left."""
        self.release()
        self.drain(timeout)
        with self._cond:
            self._closing = True
            left = len(self._order) + (self._running is not None)
            self._cond.notify_all()
        self._thread.join(timeout=0 if left else None)
        return left

    # ---- the thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._order) or self._closing)
                while not self._closing and (wait := self._held_until - time.monotonic()) > 0:
                    self._cond.wait(wait)  # held: release() or the hold's end wakes it
                if not self._order:
                    break
                key = self._order.popleft()
                what, job = self._jobs.pop(key)
                self._running = key
            self._attempt(key, what, job)
            with self._cond:
                self._running = None
                self._cond.notify_all()
        if self._store is not None:
            self._store.close()

    def _attempt(self, key: Hashable, what: str, job: WriteJob) -> None:
        """Run one job until it succeeds, is replaced by a newer one, or the worker closes."""
        tries = 0
        while True:
            try:
                if self._store is None:
                    self._store = self._opener()
                job(self._store)
            except ConversationNotFound:
                return  # the row is gone (deleted meanwhile): nothing left to write
            except (LmtuiError, OSError) as exc:
                message = exc.message if isinstance(exc, LmtuiError) else str(exc)
                self._report_problem(f"{message} — retrying ({what})")
            else:
                self._report_recovered()
                return
            pause = RETRY_PAUSES[min(tries, len(RETRY_PAUSES) - 1)]
            tries += 1
            with self._cond:
                if self._cond.wait_for(lambda: self._closing, timeout=pause):
                    return  # closing: the caller learns from close() what was left
                if key in self._jobs:  # a newer snapshot of the same write: run that
                    self._order.remove(key)
                    what, job = self._jobs.pop(key)

    def _report_problem(self, text: str) -> None:
        first = not self._failing
        self._failing = True
        self.problem = text
        if first and self.on_problem is not None:
            self.on_problem(text)

    def _report_recovered(self) -> None:
        if not self._failing:
            return
        self._failing = False
        self.problem = None
        if self.on_recovered is not None:
            self.on_recovered("history is being saved again")
