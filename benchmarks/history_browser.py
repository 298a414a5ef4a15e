"""The history browser's screen at 1,000,000 messages / 50,000 conversations.

``history_scale.py`` times the store calls the browser makes; this times the screen
itself, driven by Textual's Pilot (headless, 120×40): from pushing the browser to its
first 200 rows shown and drawn, the next page (End on the list pages in 200 more), ten
pages further, and two searches as you type (debounce excluded: the search itself, in its
thread, to the hits shown) — "the", in every message, and "ka", a two-letter prefix — and
a page asked for from the list while the second runs.
The same steps (but the search: with every row shown there is nothing to page during it)
on a 2,400-conversation history (12 pages), alternating in the same run,
are the baseline: "instant" means the big one costs no more; a key that loads nothing
("up") is Pilot's own cost. ``--today DIR`` runs DIR's lmtui on the big history too.

    .venv/bin/python benchmarks/history_browser.py [--runs 5] [--scale 5] [--db FILE]

``--db`` reuses a history database (else one is imported into a temporary directory
from ``history_scale.py``'s generator, which takes a minute at scale 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.css.query import NoMatches

ROOT = Path(__file__).resolve().parent.parent
# history_scale's generator; lmtui itself comes from PYTHONPATH (``--today`` runs DIR's).
sys.path.insert(0, str(ROOT / "benchmarks"))
from child_run import child_figures  # noqa: E402

PAGES = 10
TICK_S = 0.005


def build(root: Path, scale: float) -> Path:
    """Import ``history_scale``'s synthetic history (``scale`` 5: 1M messages); its path."""
    from history_scale import generate  # type: ignore[import-not-found]

    conversations = max(2, int(10_000 * scale))
    messages = max(conversations, int(200_000 * scale))
    jsonl = root / "history.jsonl"
    generate(jsonl, conversations, messages)
    env = dict(os.environ, XDG_DATA_HOME=str(root / "data"), PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "lmtui", "history", "import", str(jsonl)],
        env=env,
        check=True,
        capture_output=True,
    )
    jsonl.unlink()
    return root / "data" / "lmtui" / "history.sqlite3"


SMALL = 2_400


def small(root: Path) -> Path:
    """A 2,400-conversation, 4,800-message history: the baseline."""
    from lmtui.store.history import HistoryStore
    from lmtui.store.history_export import parse_import

    path = root / "small.sqlite3"
    messages = [
        {"role": "user", "content": "The question."},
        {"role": "assistant", "content": "A."},
    ]
    lines = (
        json.dumps({"title": f"Conversation {i} about the", "messages": messages})
        for i in range(SMALL)
    )
    with HistoryStore(path) as store:
        store.import_conversations(parse_import("\n".join(lines)))
    return path


async def until(pilot: Any, condition: Any) -> None:
    """Let the app run until ``condition()`` holds, then one more frame."""
    for _ in range(100_000):
        try:
            if condition():
                break
        except NoMatches:  # not composed yet
            pass
        await pilot.pause(0.001)
    await pilot.pause()


async def time_screen(db: Path, search: bool = True) -> dict[str, float]:
    """Seconds for: open, next page, each of ten more pages (median), a search."""
    from textual.app import App

    from lmtui.store.history import HistoryStore
    from lmtui.ui.history_browser import PAGE_SIZE, HistoryBrowser

    store = HistoryStore(db)
    app: App[None] = App()
    figures: dict[str, float] = {}
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            browser = HistoryBrowser(store)
            start = time.perf_counter()
            app.push_screen(browser)
            total = store.count_conversations()
            first = min(PAGE_SIZE, total)
            await until(pilot, lambda: browser.option_list.option_count >= first)
            figures["open"] = time.perf_counter() - start
            pages: list[float] = []
            for _ in range(PAGES + 1):
                loaded = browser.option_list.option_count
                if loaded >= total:
                    break
                start = time.perf_counter()
                await pilot.press("end")
                await until(pilot, lambda n=loaded: browser.option_list.option_count > n)
                pages.append(time.perf_counter() - start)
            figures["next page"] = pages[0] if pages else 0.0
            figures["pages 2-11"] = statistics.median(pages[1:]) if pages[1:] else 0.0
            start = time.perf_counter()
            await pilot.press("up")  # a key that loads nothing: Pilot's own cost
            await pilot.pause()
            figures["a key (up)"] = time.perf_counter() - start
            if not search:
                return figures
            # "the" is in every message; "ka" a two-letter prefix of thousands of words
            # (search as you type matches the last word as a prefix): the worst cases.
            stalls: list[float] = []

            async def watch() -> None:
                # While a search runs Pilot's waits are no use (they wait for the process
                # to go idle, and the search keeps it busy): the loop is watched directly.
                while True:
                    tick = time.perf_counter()
                    await asyncio.sleep(TICK_S)
                    stalls.append(time.perf_counter() - tick - TICK_S)

            watcher = asyncio.create_task(watch())
            for query in ("the", "ka"):
                browser.search_input.value = query
                await pilot.pause()  # the box's change is seen: the search waits on its debounce
                start = time.perf_counter()
                browser._flush_search()  # now, not after the typing debounce
                if query == "ka":
                    # Page once more from the list, still shown while the search runs.
                    await asyncio.sleep(0.02)
                    loaded = browser.option_list.option_count
                    paged = time.perf_counter()
                    if loaded < total and browser._search_in_flight:
                        browser.option_list.action_last()
                        while browser.option_list.option_count == loaded:
                            await asyncio.sleep(0.001)
                        during = browser._search_in_flight
                        if during:  # else the hits came first: nothing was paged during it
                            figures["a page during the 'ka' search"] = time.perf_counter() - paged
                while browser._search_in_flight or not browser.hits:
                    await asyncio.sleep(0.001)
                figures[f"search '{query}'"] = time.perf_counter() - start
                browser.search_input.value = ""  # the list again, for the next search
                while browser.searching or browser.option_list.option_count < first:
                    await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)  # the watcher's last lateness is recorded
            watcher.cancel()
            figures["longest loop stall during them"] = max(stalls)
    finally:
        store.close()
    return figures


def measure(code: Path, db: Path, search: bool = True) -> dict[str, float]:
    """One run of :func:`time_screen` on ``db`` in a process running the lmtui in ``code``."""
    flags = [] if search else ["--no-search"]
    return child_figures(__file__, code, [str(db), *flags], timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--db", type=Path, help="a history database to reuse")
    parser.add_argument("--today", type=Path, help="also measure the code in this checkout")
    parser.add_argument("--no-today", action="store_true", help="only this checkout (run_all)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-search", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(asyncio.run(time_screen(args.child, not args.no_search))))
        return 0
    with tempfile.TemporaryDirectory(prefix="lmtui-browser-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        big = args.db or build(root, args.scale)
        if args.db is None:
            print(f"imported the history in {time.perf_counter() - started:.0f} s")
        little = small(root)
        runs: dict[str, tuple[Path, Path]] = {
            "now": (ROOT, big),
            f"now, {SMALL:,} conversations": (ROOT, little),
        }
        if args.today is not None:
            runs["today"] = (args.today, big)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        for _ in range(args.runs):  # alternating, so load hits all alike
            for name, (code, db) in runs.items():
                results[name].append(measure(code, db, search=db is big))
    print(f"# load average {os.getloadavg()[0]:.1f}; medians of {args.runs}, ms")
    for name, figures in results.items():
        cells = ", ".join(
            f"{what} {statistics.median(r[what] for r in figures) * 1000:.0f}"
            for what in figures[0]
        )
        print(f"{name}: {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
