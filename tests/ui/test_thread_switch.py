"""The app shortens CPython's switch interval while it runs (lmtui/ui/thread_switch.py).

Textual's frame writer and key reader are threads: with the default 5 ms interval a
frame made while the loop kept busy reached the terminal 5-8 ms late (benchmarks/README.md,
"TUI ÷ wire", session 7, measured in tmux). Here: the interval while the app runs, and
the one it found given back when it ends, so other code in the process is left as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from lmtui.ui.app import LmtuiApp
from lmtui.ui.thread_switch import SWITCH_INTERVAL_S, QuickSwitches


async def test_the_app_runs_with_quick_switches_and_gives_the_interval_back(
    make_app: Callable[..., LmtuiApp],
) -> None:
    found = sys.getswitchinterval()
    assert found != SWITCH_INTERVAL_S
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == found


def test_quick_switches_keep_the_first_interval_found_and_stop_once() -> None:
    found = sys.getswitchinterval()
    switches = QuickSwitches()
    switches.stop()  # never started: nothing to give back
    assert sys.getswitchinterval() == found
    switches.start()
    switches.start()  # a second start must not take the short interval as the one found
    assert sys.getswitchinterval() == SWITCH_INTERVAL_S
    switches.stop()
    switches.stop()
    assert sys.getswitchinterval() == found
