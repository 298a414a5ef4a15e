"""History writes while another process holds the database lock: does the TUI stall?

Another process holds ``BEGIN EXCLUSIVE`` on the history database for the whole run.
The app (driven by Textual's Pilot, headless, against tests/fake_server.py streaming
200 deltas) then: presses Enter on a new chat, Enter again in that chat, opens the
history browser and renames and deletes a conversation there. A task on the event loop
wakes every 5 ms and records how late it woke: the longest stall is how long keys and
frames were held up. Printed: the longest stall, the total time stalled over 100 ms, and
the whole script's wall time, for this checkout and (``--today DIR``) for DIR's code,
alternating, medians of ``--runs``; and this checkout's with nothing locked, as the
reference for what the scenario stalls anyway (rendering, the browser's first frame).

    .venv/bin/python benchmarks/history_locked.py [--runs 3] [--today /work/main]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from child_run import child_figures
from fake_process import start_fake_server

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 0.005
STALL_S = 0.1
MODEL = "qwen2.5-7b-instruct"  # loaded on the fake server

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


async def _drive(base_url: str, lock: bool) -> dict[str, float]:
    """Run the scenario in this process (the lmtui on PYTHONPATH); return the figures."""
    import asyncio

    from lmtui.store.config import Config
    from lmtui.store.history import HistoryStore
    from lmtui.store.paths import history_db
    from lmtui.ui.app import LmtuiApp

    with HistoryStore(history_db()) as store:  # two conversations for the browser
        for title in ("first", "second"):
            cid = store.create_conversation(title)
            store.add_message(cid, "user", title)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER if lock else "import sys; print('locked', flush=True); sys.stdin.read()",
            str(history_db()),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    stalls: list[float] = []
    try:
        app = LmtuiApp(Config(base_url=base_url, model=MODEL), server_label="bench")
        async with app.run_test(size=(120, 40)) as pilot:

            async def watch() -> None:
                while True:
                    start = time.perf_counter()
                    await asyncio.sleep(TICK_S)
                    stalls.append(time.perf_counter() - start - TICK_S)

            watcher = asyncio.create_task(watch())
            started = time.perf_counter()
            screen = app.chat_screen

            async def enter(text: str) -> None:
                screen.composer.focus()
                screen.composer.insert(text)
                await pilot.press("enter")
                for _ in range(2000):
                    await pilot.pause(0.01)
                    if not screen.streaming:
                        break

            await enter("hello")
            await enter("again")
            await pilot.press("f6")
            await pilot.pause(0.05)
            await pilot.press("r")
            await pilot.pause(0.05)
            await pilot.press(*"renamed", "enter")
            await pilot.pause(0.05)
            await pilot.press("down", "d")
            await pilot.pause(0.05)
            await pilot.press("escape")
            await pilot.pause(0.05)
            took = time.perf_counter() - started
            watcher.cancel()
            replies = [e.content for e in screen.session.entries if e.role == "assistant"]
            assert len(replies) == 2 and all(replies), f"no replies: {screen.session.entries}"
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    return {
        "longest_stall_s": max(stalls),
        "stalled_over_100ms_s": sum(s for s in stalls if s > STALL_S),
        "scenario_s": took,
    }


def child(lock: bool) -> int:
    """The measured process: private data dirs, a fake server, the scenario."""
    import asyncio

    with tempfile.TemporaryDirectory() as home:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(home) / name.lower())
        server, url = start_fake_server("--deltas", "200")
        try:
            figures = asyncio.run(_drive(url, lock))
        finally:
            server.terminate()
            server.wait(timeout=5)
    print(json.dumps(figures))
    return 0


def measure(code: Path, lock: bool = True) -> dict[str, float]:
    """One run of the scenario with the lmtui in ``code`` (``lock``: the database locked)."""
    return child_figures(__file__, code, [] if lock else ["--no-lock"], timeout=600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--today", type=Path, help="also measure the code in this checkout")
    parser.add_argument("--no-today", action="store_true", help="only this checkout (run_all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-lock", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(not args.no_lock)
    codes = {"now": ROOT, **({"today": args.today} if args.today else {})}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    results["now, database not locked (reference)"] = []
    for _ in range(args.runs):
        for name, code in codes.items():  # alternating, so load hits both alike
            results[name].append(measure(code))
        results["now, database not locked (reference)"].append(measure(ROOT, lock=False))
    print(f"# load average {os.getloadavg()[0]:.1f}; medians of {args.runs}")
    for name, runs in results.items():
        longest = statistics.median(r["longest_stall_s"] for r in runs)
        stalled = statistics.median(r["stalled_over_100ms_s"] for r in runs)
        scenario = statistics.median(r["scenario_s"] for r in runs)
        print(
            f"{name}: longest event-loop stall {longest * 1000:.0f} ms, "
            f"stalled over 100 ms: {stalled:.2f} s in all, scenario {scenario:.2f} s "
            "(two Enters, a rename, a delete)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
