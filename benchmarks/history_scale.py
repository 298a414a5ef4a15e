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
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LMTUI = [sys.executable, "-m", "lmtui"]
README = ROOT / "benchmarks" / "README.md"

RARE_WORD = "zyzzogeton"
COMMON_WORD = "the"
RARE_EVERY = 271  # conversations i with i % RARE_EVERY == 7 hold the rare word
LONG_MESSAGES = 2_000

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


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run a whole process; return its wall time and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
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


def app_startup_with_history() -> None:
    """TODO(history TUI): time the app's first frame with this 10k-conversation history.

    Needs the TUI's history browser; compare startup with an empty data directory
    against this one (goal: no visible difference, the list is paged).
    """


def write_readme(section: str) -> None:
    """Replace (or add) the "## History" section of benchmarks/README.md."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == "## History"), None)
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
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--no-readme", action="store_true", help="do not update the README")
    args = parser.parse_args()
    conversations = max(2, int(10_000 * args.scale))
    messages = max(conversations, int(200_000 * args.scale))

    with tempfile.TemporaryDirectory(prefix="lmtui-history-bench-") as tmp:
        root = Path(tmp)
        env = dict(os.environ)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            env[name] = str(root / name.lower())
        jsonl = root / "history.jsonl"
        t0 = time.perf_counter()
        expected = generate(jsonl, conversations, messages)
        gen_s = time.perf_counter() - t0
        size_mb = jsonl.stat().st_size / 1e6
        print(
            f"generated {conversations} conversations / {messages} messages "
            f"({size_mb:.1f} MB) in {gen_s:.2f} s"
        )

        import_s, out = timed([*LMTUI, "history", "import", str(jsonl)], env)
        print(f"import (whole process): {import_s:.2f} s — {out.strip()}")
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

    app_startup_with_history()
    if args.no_readme or args.scale != 1.0:
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
    ]
    table = "| measurement | result |\n|---|---|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)
    section = f"""## History

`benchmarks/history_scale.py` ({time.strftime("%Y-%m-%d")}, Python {sys.version.split()[0]},
{os.cpu_count()} CPUs). A seeded generator writes {conversations:,} conversations /
{messages:,} messages ({size_mb:.0f} MB of JSON Lines; one conversation has {LONG_MESSAGES:,}
messages, one rare word sits in a known set of {len(expected)} conversations). Whole processes
are timed with `time.perf_counter()` around `subprocess.run`; medians of {args.runs},
search and `lmtui --version` alternating.

{table}
The rare-word search returned exactly the {len(expected)} expected conversations. A word in
every message is the worst case: each of its {messages:,} matches gets a bm25 score before the
best 50 conversations are chosen.
App startup with this history: TODO, needs the TUI's history browser
(`app_startup_with_history` in the script).
"""
    write_readme(section)
    print(f"wrote the History section of {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
