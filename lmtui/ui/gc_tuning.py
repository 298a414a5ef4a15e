"""The garbage collector, tuned for a long-running terminal app.

After start-up the process holds a few hundred thousand long-lived objects (Textual,
Rich, the screens, their styles). CPython's full collection walks all of them: the
first one after start-up paused the app for 80-100 ms, typically in the middle of the
first reply (docs/rendering.md, "Close to the wire"). Moving them into the permanent
generation once the first screen is drawn takes them out of every later collection;
they live as long as the app anyway. When the app ends they are handed back, so a
process that runs several apps (the test suite) does not keep the garbage of each.

While a reply streams, the objects it leaves alive pile up in the oldest generation
(drawn lines, layouts, caches) and each full collection walked them all again: 5-30 ms,
landing on frames that also drew the reply (docs/rendering.md, "Huge replies"). So
while a reply streams, what survives a full collection is frozen too: the next one
walks only what was made since (5-10 ms for a 5 MB reply). CPython 3.11 runs a full
collection after ten collections of the middle generation, and only once the objects
it promoted since the last full one exceed a quarter of those that survived it.

The price: an object frozen alive that later becomes unreachable *in a cycle* is not
collected (one kept alive by plain references is still freed when they go). A 5 MB
reply leaves ~3,000-5,000 such objects. They are collected by :func:`sweep`: the
frozen objects handed back, one full collection of everything (~100 ms), everything
frozen again. :class:`IdleSweep` runs it once no reply streams and no key or mouse
event came for :data:`SWEEP_IDLE_SECONDS`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, Protocol

# A sweep waits until the user has left the keyboard and mouse alone this long.
SWEEP_IDLE_SECONDS = 5.0


def freeze_startup_objects() -> None:
    """Exclude every object alive now from later collections (after start-up)."""
    gc.freeze()


def thaw_objects() -> None:
    """Return the frozen objects to the collector (when the app ends): its replies end too."""
    gc.unfreeze()
    _state.streaming.clear()
    _state.owed = False


class _State:
    """Which replies stream now, and whether their freezes still owe a sweep."""

    def __init__(self) -> None:
        self.streaming: set[int] = set()  # id() of each reply widget streaming now
        self.owed = False  # objects were frozen while a reply streamed, not swept since
        self.installed = False


_state = _State()


def reply_streaming(owner: object, on: bool) -> None:
    """Say that ``owner`` (a reply's widget) started (``on``) or stopped streaming.

    While any reply streams, the survivors of each full collection are frozen.
    """
    if on:
        _state.streaming.add(id(owner))
        if not _state.installed:
            gc.callbacks.append(_after_collection)
            _state.installed = True
    else:
        _state.streaming.discard(id(owner))


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    """A ``gc.callbacks`` hook: freeze what survived a full collection while a reply streams."""
    if phase == "stop" and info["generation"] == 2 and _state.streaming:
        gc.freeze()
        _state.owed = True


def sweep_owed() -> bool:
    """True when replies froze objects since the last sweep and none streams now."""
    return _state.owed and not _state.streaming


def sweep() -> int:
    """Collect the garbage frozen while replies streamed; returns the objects collected.

    Hands every frozen object back, collects everything once, freezes what is left.
    """
    gc.unfreeze()
    try:
        return gc.collect()
    finally:
        gc.freeze()
        _state.owed = False


class _Timers(Protocol):
    def set_timer(self, delay: float, callback: Callable[[], object]) -> object: ...


class IdleSweep:
    """Runs :func:`sweep` once the user is idle after a reply that froze objects.

    The app calls :meth:`note_input` for each key and mouse event and :meth:`arm` when
    a reply ends; a timer then waits until ``idle`` seconds passed since the last input
    (and no reply streams). Nothing runs while no sweep is owed.
    """

    def __init__(
        self,
        host: _Timers,
        idle: float = SWEEP_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._idle = idle
        self._clock = clock
        self._last_input = clock()
        self._armed = False
        self.swept = 0  # sweeps run (tests count them)

    def note_input(self) -> None:
        """A key or mouse event came: postpone the sweep."""
        self._last_input = self._clock()

    def arm(self) -> None:
        """A reply ended: sweep once idle, if its freezes owe one."""
        if sweep_owed() and not self._armed:
            self._armed = True
            self._host.set_timer(self._idle, self._check)

    def _check(self) -> None:
        self._armed = False
        if not sweep_owed():
            return  # swept already, or a reply streams again (its end arms again)
        wait = self._idle - (self._clock() - self._last_input)
        if wait > 0:
            self._armed = True
            self._host.set_timer(wait, self._check)
            return
        sweep()
        self.swept += 1
