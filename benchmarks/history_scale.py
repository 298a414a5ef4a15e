"""History at scale: 10,000 conversations / 200,000 messages.

1. Writes a JSON Lines file of synthetic conversations from a fixed vocabulary
   (seeded, so every run is the same). One rare word is put into a known set of
   conversations; conversation 0 has 2,000 messages.
2. Imports it with ``lmtui history import`` into a throw-away data directory
   and times the whole process.
3. Times ``lmtui history search <rare word> --json --limit 0`` as a whole
   process against ``lmtui --version`` (median of N, alternating) and checks the
   search returns exactly the expected conversations. A search for a word in
   nearly every message is timed too, as the worst case.
4. Times ``HistoryStore.get_conversation`` on the 2,000-message conversation.

Prints the figures and writes them into the "History" section of
benchmarks/README.md (other sections are left alone).

    .venv/bin/python benchmarks/history_scale.py [--runs 5] [--scale 1.0] [--no-readme]
        [--keep DIR]

``--keep DIR`` builds the history in DIR and reuses it on the next run with the same
``--scale`` (the import is then not timed); ``benchmarks/startup.py --history DIR`` reads it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fake_process import start_fake_server

ROOT = Path(__file__).resolve().parent.parent
LMTUI = [sys.executable, "-m", "lmtui"]
README = ROOT / "benchmarks" / "README.md"

RARE_WORD = "zyzzogeton"
COMMON_WORD = "the"
RARE_EVERY = 271  # conversations i with i % RARE_EVERY == 7 hold the rare word
LONG_MESSAGES = 2_000
STARTUP_MODEL = "bench-model"
TMUX_SESSION = "lmtui-history-startup-bench"

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "pa", "qi", "do", "fe")


def vocabulary(rng: random.Random, size: int = 3_000) -> list[str]:
    """Made-up words of two to four syllables, plus a few common English ones."""
    words = {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    words.discard(RARE_WORD)
    return [*sorted(words)[:size], "the", "a", "is", "of", "and", "to", "in", "it"]


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    """``n`` words with ``the`` first, so the common word is in every message."""
    return "The " + " ".join(rng.choices(words, k=n - 1)) + "."


def message_counts(conversations: int, messages: int) -> list[int]:
    """Messages per conversation: a long first one, the rest spread evenly."""
    long = min(LONG_MESSAGES, messages)
    rest = messages - long
    others = conversations - 1
    base, extra = divmod(rest, others) if others else (0, 0)
    return [long] + [base + (1 if i < extra else 0) for i in range(others)]


def generate(path: Path, conversations: int, messages: int) -> set[str]:
    """Write the JSON Lines file; return the titles that contain the rare word."""
    rng = random.Random(20240601)
    words = vocabulary(rng)
    expected: set[str] = set()
    with path.open("w", encoding="utf-8") as fh:
        for i, count in enumerate(message_counts(conversations, messages)):
            title = f"Conversation {i} about {rng.choice(words)}"
            msgs = []
            for j in range(count):
                role = "user" if j % 2 == 0 else "assistant"
                msgs.append({"role": role, "content": sentence(rng, words, rng.randint(8, 40))})
            if i % RARE_EVERY == 7 and msgs:
                k = rng.randrange(len(msgs))
                msgs[k]["content"] += f" Also {RARE_WORD} here."
                expected.add(title)
            fh.write(json.dumps({"title": title, "messages": msgs}) + "\n")
    return expected


LAST_CPU = [0.0]  # CPU time (user + system) of the last process timed()


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run a whole process; return its wall time and its stdout (its CPU time: LAST_CPU)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stdout


def search_vs_version(
    env: dict[str, str], word: str, runs: int, *, limit: int = 0
) -> tuple[float, float, str]:
    """Median whole-process times of search and --version, alternating; last output."""
    search_times: list[float] = []
    version_times: list[float] = []
    out = ""
    for _ in range(runs):
        t, _ = timed([*LMTUI, "--version"], env)
        version_times.append(t)
        t, out = timed([*LMTUI, "history", "search", word, "--json", "--limit", str(limit)], env)
        search_times.append(t)
    return statistics.median(search_times), statistics.median(version_times), out


def open_long_conversation(db: Path, runs: int) -> float:
    """Median time of get_conversation() on the 2,000-message conversation."""
    sys.path.insert(0, str(ROOT))
    from lmtui.store.history import HistoryStore

    with HistoryStore(db) as store:
        first = min(s.id for s in store.list_conversations(limit=None))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            _, msgs = store.get_conversation(first)
            times.append(time.perf_counter() - start)
            assert len(msgs) == min(LONG_MESSAGES, len(msgs)), len(msgs)
    return statistics.median(times)


def browse_pages(db: Path, runs: int, page: int = 200) -> tuple[float, float, float]:
    """Median seconds of what the history browser asks the store for.

    Opening: ``count_conversations()`` plus the first page; then the next page, and
    the last page (the deepest ``OFFSET``). Returns (open, next page, last page).
    """
    sys.path.insert(0, str(ROOT))
    from lmtui.store.history import HistoryStore

    opened, nxt, last = [], [], []
    with HistoryStore(db) as store:
        for _ in range(runs):
            start = time.perf_counter()
            total = store.count_conversations()
            first = store.list_conversations(limit=page)
            opened.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.list_conversations(limit=page, offset=len(first))
            nxt.append(time.perf_counter() - start)
            start = time.perf_counter()
            tail = store.list_conversations(limit=page, offset=max(0, total - page))
            last.append(time.perf_counter() - start)
            assert len(first) == min(page, total) and len(tail) == min(page, total)
    return statistics.median(opened), statistics.median(nxt), statistics.median(last)


def _tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


def _startup_once(url: str, env: dict[str, str], timeout: float = 30.0) -> float:
    """Launch the app in a 120×40 tmux pane; seconds until the model id is on screen."""
    exports = "-u PYTHONDONTWRITEBYTECODE -u PYTHONUNBUFFERED " + " ".join(
        f"{k}={shlex.quote(env[k])}" for k in sorted(env)
    )
    app = shlex.join([*LMTUI, "--base-url", url, "--model", STARTUP_MODEL])
    _tmux("kill-session", "-t", TMUX_SESSION)
    pane = ""
    started = time.perf_counter()
    _tmux("new-session", "-d", "-s", TMUX_SESSION, "-x", "120", "-y", "40", f"env {exports} {app}")
    try:
        while time.perf_counter() - started < timeout:
            pane = _tmux("capture-pane", "-p", "-t", TMUX_SESSION).stdout
            if f"model: {STARTUP_MODEL}" in pane:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise SystemExit(f"the app never showed the model id; last screen:\n{pane}")
    finally:
        # Quit as a user would, so the history database is closed before the next run.
        _tmux("send-keys", "-t", TMUX_SESSION, "C-q")
        quit_by = time.perf_counter() + 5
        while (
            time.perf_counter() < quit_by
            and _tmux("has-session", "-t", TMUX_SESSION).returncode == 0
        ):
            time.sleep(0.05)
        _tmux("kill-session", "-t", TMUX_SESSION)


def app_startup_with_history(history_data: Path, runs: int) -> tuple[float, float]:
    """Median app startup with an empty history and with ``history_data``'s; seconds.

    Startup is from launching ``lmtui --base-url URL --model M`` in a 120×40 tmux
    pane until the model id is on screen, against ``tests/fake_server.py``. The two
    histories differ only in ``XDG_DATA_HOME`` and alternate, after one unmeasured
    warm-up launch of each.
    """
    if shutil.which("tmux") is None:
        raise SystemExit("the app startup benchmark needs tmux")
    server, url = start_fake_server()
    try:
        with tempfile.TemporaryDirectory(prefix="lmtui-startup-bench-") as tmp:
            homes: dict[str, dict[str, str]] = {}
            for label, data in (("empty", Path(tmp) / "empty-data"), ("full", history_data)):
                homes[label] = {
                    "XDG_CONFIG_HOME": str(Path(tmp) / label / "config"),
                    "XDG_STATE_HOME": str(Path(tmp) / label / "state"),
                    "XDG_DATA_HOME": str(data),
                    "TERM": "xterm-256color",
                }
            times: dict[str, list[float]] = {"empty": [], "full": []}
            for label in ("empty", "full"):
                _startup_once(url, homes[label])
            for _ in range(runs):
                for label in ("empty", "full"):
                    times[label].append(_startup_once(url, homes[label]))
    finally:
        server.terminate()
        server.wait(timeout=5)
    return statistics.median(times["empty"]), statistics.median(times["full"])


def write_readme(section: str) -> None:
    """Replace (or add) the section of benchmarks/README.md with ``section``'s heading."""
    heading = section.splitlines()[0].rstrip()
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == heading), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + tail if tail else "")
    README.write_text(new, encoding="utf-8")


def main() -> int:
    """Run the benchmark and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="times the base size (5: 50,000 conversations / 1,000,000 messages)",
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the tmux app startup")
    parser.add_argument("--no-readme", action="store_true", help="do not update the README")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the history in DIR and keep it; a later run with the same DIR and "
        "--scale reuses it (the import is then not timed)",
    )
    args = parser.parse_args()
    conversations = max(2, int(10_000 * args.scale))
    messages = max(conversations, int(200_000 * args.scale))

    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            root = args.keep.resolve()
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="lmtui-history-bench-"))
            )
        env = dict(os.environ)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            env[name] = str(root / name.lower())
        jsonl = root / "history.jsonl"
        built = root / "built.json"  # written once the import succeeded: what it holds
        kept = json.loads(built.read_text()) if built.exists() else None
        if kept is not None and kept["conversations"] == conversations:
            expected = set(kept["expected"])
            size_mb = kept["jsonl_mb"]
            import_s = import_cpu = float("nan")
            print(f"reusing the history built in {root} ({conversations} conversations)")
        else:
            t0 = time.perf_counter()
            expected = generate(jsonl, conversations, messages)
            gen_s = time.perf_counter() - t0
            size_mb = jsonl.stat().st_size / 1e6
            print(
                f"generated {conversations} conversations / {messages} messages "
                f"({size_mb:.1f} MB) in {gen_s:.2f} s"
            )
            db_file = Path(env["XDG_DATA_HOME"]) / "lmtui" / "history.sqlite3"
            for stale in (db_file, db_file.with_name(db_file.name + "-wal")):
                stale.unlink(missing_ok=True)  # a run stopped mid-import
            import_s, out = timed([*LMTUI, "history", "import", str(jsonl)], env)
            import_cpu = LAST_CPU[0]
            print(
                f"import (whole process): {import_s:.2f} s, CPU {import_cpu:.2f} s — {out.strip()}"
            )
            if args.keep is not None:
                record = {"conversations": conversations, "expected": sorted(expected)}
                built.write_text(json.dumps({**record, "jsonl_mb": size_mb}))
        db = Path(env["XDG_DATA_HOME"]) / "lmtui" / "history.sqlite3"
        db_mb = db.stat().st_size / 1e6

        search_s, version_s, out = search_vs_version(env, RARE_WORD, args.runs)
        found = {h["title"] for h in json.loads(out)["hits"]}
        if found != expected:
            raise SystemExit(
                f"search returned {len(found)} conversations, expected "
                f"{len(expected)}: missing {expected - found}, extra {found - expected}"
            )
        print(
            f"search '{RARE_WORD}': {search_s * 1000:.0f} ms, --version {version_s * 1000:.0f} ms,"
            f" difference {(search_s - version_s) * 1000:.0f} ms "
            f"(goal ≤ 100 ms); {len(found)} conversations, exactly the expected ones"
        )

        common_s, common_v, out = search_vs_version(env, COMMON_WORD, args.runs, limit=50)
        common_hits = len(json.loads(out)["hits"])
        print(
            f"search '{COMMON_WORD}' (in every message, top 50): {common_s * 1000:.0f} ms, "
            f"difference {(common_s - common_v) * 1000:.0f} ms; {common_hits} conversations"
        )

        open_s = open_long_conversation(db, args.runs)
        print(f"get_conversation ({LONG_MESSAGES} messages): {open_s * 1000:.1f} ms")

        browse_open, browse_next, browse_last = browse_pages(db, args.runs)
        print(
            f"history browser's store calls: open (count + first 200) "
            f"{browse_open * 1000:.1f} ms, next page {browse_next * 1000:.1f} ms, "
            f"last page {browse_last * 1000:.1f} ms"
        )

        empty_s = full_s = startup_ratio = float("nan")
        if not args.no_startup:
            empty_s, full_s = app_startup_with_history(Path(env["XDG_DATA_HOME"]), args.runs)
            startup_ratio = full_s / empty_s
            print(
                f"app startup (tmux 120×40, model id on screen): empty history "
                f"{empty_s * 1000:.0f} ms, {conversations} conversations {full_s * 1000:.0f} ms,"
                f" ratio {startup_ratio:.2f} (goal ≤ 1.10)"
            )

    if args.no_readme:
        return 0

    rows = [
        (
            "`lmtui history import` of the whole file (one process, one transaction)",
            f"{import_s:.2f} s",
        ),
        ("database size after import", f"{db_mb:.0f} MB"),
        (f"`lmtui history search {RARE_WORD} --json` (whole process)", f"{search_s * 1000:.0f} ms"),
        ("`lmtui --version` (whole process)", f"{version_s * 1000:.0f} ms"),
        (
            "**search minus `--version`** (goal ≤ 100 ms)",
            f"**{(search_s - version_s) * 1000:.0f} ms**",
        ),
        (
            f"search for `{COMMON_WORD}` (in all {messages:,} messages; top 50) minus `--version`",
            f"{(common_s - common_v) * 1000:.0f} ms",
        ),
        (
            f"`HistoryStore.get_conversation` of {LONG_MESSAGES:,} messages (in process)",
            f"{open_s * 1000:.1f} ms",
        ),
        (
            "history browser's store calls: open (count + first 200 conversations)",
            f"{browse_open * 1000:.1f} ms",
        ),
        (
            "next page / last page (deepest OFFSET)",
            f"{browse_next * 1000:.1f} ms / {browse_last * 1000:.1f} ms",
        ),
        ("app startup, empty history (tmux 120×40, until the model id shows)", f"{empty_s:.2f} s"),
        (f"app startup with these {conversations:,} conversations", f"{full_s:.2f} s"),
        ("**startup ratio, history / empty** (goal ≤ 1.10)", f"**{startup_ratio:.2f}**"),
    ]
    table = "| measurement | result |\n|---|---|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)
    heading = "## History" if args.scale == 1.0 else f"## History at {messages:,} messages"
    section = f"""{heading}

`benchmarks/history_scale.py` ({time.strftime("%Y-%m-%d")}, Python {sys.version.split()[0]},
{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end).
A seeded generator writes {conversations:,} conversations /
{messages:,} messages ({size_mb:.0f} MB of JSON Lines; one conversation has {LONG_MESSAGES:,}
messages, one rare word sits in a known set of {len(expected)} conversations). Whole processes
are timed with `time.perf_counter()` around `subprocess.run`; medians of {args.runs},
search and `lmtui --version` alternating.

{table}
The rare-word search returned exactly the {len(expected)} expected conversations. A word in
every message is the worst case: each of its {messages:,} matches gets a bm25 score before the
best 50 conversations are chosen.
App startup is timed from launching `lmtui --base-url URL --model M` in a 120×40 tmux pane
(against `tests/fake_server.py`) until the model id is on screen, with this history and with
an empty one (only `XDG_DATA_HOME` differs), alternating after a warm-up launch of each. The
history browser pages its list (200 conversations at a time), so a large history costs the
app nothing until the browser opens.
"""
    write_readme(section)
    print(f"wrote the History section of {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
