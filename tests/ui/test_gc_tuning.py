"""The app freezes its start-up objects out of full collections, and hands them back at the end."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

from lmtui.ui.gc_tuning import IdleSweep, reply_streaming, sweep, sweep_owed, thaw_objects
from tests.ui.conftest import wait_until


async def test_startup_objects_are_frozen_while_the_app_runs_and_thawed_after(
    make_app: Any,
) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0)
    assert gc.get_freeze_count() == 0  # a test run of many apps keeps no app's garbage


class _Cycle:
    """An object in a reference cycle: only a collection frees it."""

    def __init__(self) -> None:
        self.me = self


class _Timers:
    """Timers run by hand (set_timer as Textual's, without the app)."""

    def __init__(self) -> None:
        self.due: list[tuple[float, Callable[[], object]]] = []

    def set_timer(self, delay: float, callback: Callable[[], object]) -> object:
        self.due.append((delay, callback))
        return None

    def run(self) -> float:
        delay, callback = self.due.pop(0)
        callback()
        return delay


def test_a_full_collection_while_a_reply_streams_freezes_what_survived_it() -> None:
    # Each full collection while a 5 MB reply streamed walked everything it had left
    # alive (5-30 ms); frozen, the next one walks only what was made since.
    owner = object()
    alive = _Cycle()
    reply_streaming(owner, True)
    try:
        gc.collect()  # a full collection, as CPython runs one every few seconds then
        assert not any(o is alive for o in gc.get_objects())  # frozen: no longer walked
        assert sweep_owed() is False  # not while the reply streams
    finally:
        reply_streaming(owner, False)
    assert sweep_owed()
    thaw_objects()


def test_the_sweep_collects_cyclic_garbage_frozen_while_a_reply_streamed() -> None:
    owner = object()
    garbage = weakref.ref(_Cycle())
    kept = _Cycle()
    probe = _Cycle()
    reference = weakref.ref(probe)
    reply_streaming(owner, True)
    try:
        gc.collect()  # `probe` is frozen alive
    finally:
        reply_streaming(owner, False)
    del probe  # now garbage in a cycle, but frozen: no collection sees it
    gc.collect()
    assert reference() is not None and garbage() is None
    assert sweep() >= 1
    assert reference() is None  # collected
    assert kept.me is kept  # what is still referenced stays
    assert not sweep_owed()
    thaw_objects()


def test_the_sweep_waits_until_the_user_left_the_keys_alone() -> None:
    now = [0.0]
    timers = _Timers()
    idle = IdleSweep(timers, idle=5.0, clock=lambda: now[0])
    idle.arm()
    assert timers.due == []  # nothing owed: no timer at all
    owner = object()
    reply_streaming(owner, True)
    try:
        gc.collect()
    finally:
        reply_streaming(owner, False)
    idle.arm()
    idle.arm()  # armed once
    assert len(timers.due) == 1
    now[0] = 3.0
    idle.note_input()  # a key at 3 s
    now[0] = 5.0
    timers.run()
    assert idle.swept == 0 and len(timers.due) == 1  # again, 5 s after the key
    assert timers.due[0][0] == 3.0
    now[0] = 8.0
    timers.run()
    assert idle.swept == 1 and timers.due == [] and not sweep_owed()
    thaw_objects()
