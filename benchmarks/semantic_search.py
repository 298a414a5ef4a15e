"""Semantic search at a heavy user's scale: one query over 200,000 768-dim message vectors.

1. Writes 10,000 synthetic conversations / 200,000 messages (seeded) into a
   throw-away history, one of them planted with a message that shares the meaning
   (for the fake server's bag-of-words embeddings: most of the words) of the query,
   plus decoy conversations that share one or two of its words.
2. Stores every message's vector, 768 dimensions, exactly as the fake server
   (``tests/fake_server.py``, ``embed_text``) would embed it, computed with numpy
   (indexing through HTTP is not what is timed here).
3. Times, medians of ``--runs``:
   - ``VectorStore.query`` in process (the search itself, the query already embedded);
   - the RSS growth of a fresh process over one query (VmHWM after − VmRSS before);
   - ``lmtui history search --semantic QUERY --json`` as a whole process against
     the fake server (768-dim embeddings) minus ``lmtui --version``, and checks the
     planted conversation comes first;
   - today's store (``--today PATH``, default /work/main, the pure-Python scan) on the
     same vectors, once cold (it first loads every vector) and once warm;
   - with ``--candidates``: usearch (exact and HNSW) on the same vectors, if installed.

    .venv/bin/python benchmarks/semantic_search.py [--messages 200000] [--runs 5]
        [--today /work/main] [--no-today] [--candidates]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# As lmtui does before its first numpy import (lmtui/store/vectors.py): one BLAS thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmtui.store.history import HistoryStore  # noqa: E402
from lmtui.store.vectors import ChunkVector, VectorStore  # noqa: E402
from tests.fake_server import FakeServer, embed_text  # noqa: E402

DIMS = 768
MODEL = "text-embedding-nomic-embed-text-v1.5"
PER_CONVERSATION = 20
QUERY = "protecting young tomato plants on a cold night"
PLANTED = "my young tomato plants die on a cold night, how do I keep them alive"
DECOYS = (
    "a cold night in the mountains with a tent",
    "young children and their first plants",
    "tomato soup on a rainy evening",
    "protecting a laptop from a cold garage",
)
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "pa", "qi", "do", "fe")
_COMMON = ("the", "is", "of", "and", "to", "in", "it", "what", "how", "why", "can", "you")
_LMTUI = [sys.executable, "-m", "lmtui"]


def _words(rng: random.Random) -> list[str]:
    made_up = {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(6_000)}
    return sorted(made_up)[:3_000] + list(_COMMON)


def _slot_sign(word: str) -> tuple[int, float]:
    """Where ``embed_text`` puts a word, and with which sign."""
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % DIMS, 1.0 if digest[4] & 1 else -1.0


def write_history(db: Path, messages: int, seed: int = 20261130) -> int:
    """Create the history; return the planted conversation's id."""
    rng = random.Random(seed)
    words = _words(rng)
    conversations = max(1, messages // PER_CONVERSATION)
    planted_at = conversations // 2
    decoy_at = {conversations // 3 + i * 7: text for i, text in enumerate(DECOYS)}
    lines = []
    for c in range(conversations):
        msgs = []
        for m in range(PER_CONVERSATION):
            ids = [rng.randrange(len(words)) for _ in range(rng.randint(8, 30))]
            text = " ".join(words[i] for i in ids)
            if c == planted_at and m == 3:
                text = PLANTED
            elif c in decoy_at and m == 1:
                text = decoy_at[c]
            msgs.append({"role": ("user", "assistant")[m % 2], "content": text})
        lines.append(json.dumps({"title": f"Conversation {c}", "messages": msgs}))
    jsonl = db.parent / "history.jsonl"
    jsonl.write_text("\n".join(lines), encoding="utf-8")
    with HistoryStore(db) as store:
        store.import_file(jsonl)
        planted_id = next(
            s.id
            for s in store.list_conversations(limit=None)
            if s.title == f"Conversation {planted_at}"
        )
    jsonl.unlink()
    return planted_id


def store_vectors(db: Path, words: list[str]) -> int:
    """Embed every message as the fake server would (numpy, in blocks); return the count."""
    slots = np.array([_slot_sign(w)[0] for w in words], dtype=np.int64)
    signs = np.array([_slot_sign(w)[1] for w in words], dtype=np.float32)
    with VectorStore(db) as vectors:
        pending = vectors.pending(MODEL, limit=10**9)
        for start in range(0, len(pending), 10_000):
            part = pending[start : start + 10_000]
            matrix = np.zeros((len(part), DIMS), dtype=np.float32)
            for row, msg in enumerate(part):
                ids = [_vocab_id(w, words) for w in _tokens(msg.text)]
                known = [i for i in ids if i >= 0]
                if len(known) == len(ids):
                    np.add.at(matrix[row], slots[known], signs[known])
                else:  # a planted or decoy text: ask the fake server's own function
                    matrix[row] = embed_text(msg.text, DIMS)
            vectors.put(
                MODEL,
                [(m, [ChunkVector(0, 1, 0, len(m.text), matrix[i])]) for i, m in enumerate(part)],
            )
        return len(pending)


_VOCAB: dict[str, int] = {}


def _vocab_id(word: str, words: list[str]) -> int:
    if not _VOCAB:
        _VOCAB.update({w: i for i, w in enumerate(words)})
    return _VOCAB.get(word, -1)


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


def query_in_process(db: Path, runs: int) -> tuple[float, list[int]]:
    """Median seconds of ``VectorStore.query`` (query embedded beforehand); top ids."""
    query = embed_text(QUERY, DIMS)
    times = []
    with VectorStore(db) as vectors:
        vectors.query(MODEL, query, limit=10)  # file in the page cache, as on a second search
        for _ in range(runs):
            start = time.perf_counter()
            hits = vectors.query(MODEL, query, limit=10)
            times.append(time.perf_counter() - start)
    return statistics.median(times), [h.conversation_id for h in hits]


_RSS_PROBE = """
import sys, json
sys.path.insert(0, {root!r})
import numpy
from lmtui.store.vectors import VectorStore
from tests.fake_server import embed_text

def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
store = VectorStore(__import__('pathlib').Path({db!r}))
query = embed_text({query!r}, {dims})
before = status('VmRSS:')
store.query({model!r}, query, limit=10)
print(json.dumps({{'before': before, 'peak': status('VmHWM:'), 'after': status('VmRSS:')}}))
"""


def rss_growth(db: Path) -> dict[str, int]:
    """VmRSS before a first query and VmHWM after it, in a fresh process; bytes."""
    code = _RSS_PROBE.format(root=str(ROOT), db=str(db), query=QUERY, dims=DIMS, model=MODEL)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


def whole_process(data_home: Path, url: str, runs: int) -> tuple[float, float, dict[str, Any]]:
    """Median whole-process seconds of the semantic search and of ``--version``."""
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), XDG_CONFIG_HOME=str(data_home / "c"))
    search = [
        *_LMTUI,
        "history",
        "search",
        "--semantic",
        QUERY,
        "--json",
        "--limit",
        "10",
        "--base-url",
        url,
        "--model",
        MODEL,
    ]
    s_times, v_times = [], []
    out: dict[str, Any] = {}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*_LMTUI, "--version"], env=env, capture_output=True, check=True)
        v_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        done = subprocess.run(search, env=env, capture_output=True, text=True, check=False)
        s_times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"semantic search failed: {done.stderr}")
        out = json.loads(done.stdout)
    return statistics.median(s_times), statistics.median(v_times), out


_TODAY_PROBE = """
import sys, json, time, sqlite3
sys.path.insert(0, {today!r})
sys.path.insert(1, {root!r})
from pathlib import Path
from lmtui.store.vectors import VectorStore
from tests.fake_server import embed_text
import lmtui.store.vectors as v
assert not hasattr(v, 'ChunkVector'), 'not the old store'
db = Path({db!r})
store = VectorStore(db)
# Fill its table straight from the new store's rows (same unit vectors, float32).
import numpy as np
conn = sqlite3.connect(db)
key = conn.execute("SELECT key FROM vector_models").fetchone()[0]
base = db.with_name(db.stem + '.vectors') / key
rows = np.fromfile(str(base) + '.i8', np.int8).reshape(-1, {dims})
scales = np.fromfile(str(base) + '.scale', np.float32)
ids = [r[0] for r in conn.execute("SELECT message_id FROM vector_rows ORDER BY row")]
digests = [r[0] for r in conn.execute("SELECT digest FROM vector_rows ORDER BY row")]
unit = rows.astype(np.float32) / scales[:, None]
unit /= np.linalg.norm(unit, axis=1, keepdims=True)
conn.execute("BEGIN")
conn.executemany("INSERT OR REPLACE INTO message_vectors VALUES (?, ?, ?, ?, ?)",
    ((ids[i], {model!r}, {dims}, unit[i].tobytes(), digests[i]) for i in range(len(ids))))
conn.execute("COMMIT")
conn.close()
query = embed_text({query!r}, {dims})
out = {{}}
for label in ('cold', 'warm'):
    start = time.perf_counter()
    hits = store.query({model!r}, query, limit=10)
    out[label] = time.perf_counter() - start
out['top'] = [h.conversation_id for h in hits]
print(json.dumps(out))
"""


def today(db: Path, today_root: Path) -> dict[str, Any]:
    """Today's pure-Python store on a copy of the same vectors: cold and warm query."""
    import shutil

    copy = db.with_name("today.sqlite3")
    shutil.copy(db, copy)
    shutil.copytree(db.with_name(db.stem + ".vectors"), copy.with_name("today.vectors"))
    code = _TODAY_PROBE.format(
        today=str(today_root), root=str(ROOT), db=str(copy), dims=DIMS, model=MODEL, query=QUERY
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"today's store failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def candidates(db: Path, runs: int) -> dict[str, float]:
    """usearch on the same vectors: exact search in memory, and an HNSW index (if installed)."""
    try:
        from usearch.index import Index, MetricKind, search
    except ImportError:
        return {}
    with VectorStore(db) as vectors:
        key = vectors._model(MODEL)
        assert key is not None
        i8, scale = vectors._files(key[1])
    rows = np.fromfile(i8, np.int8).reshape(-1, DIMS)
    unit = (rows.astype(np.float32) / np.fromfile(scale, np.float32)[:, None]).astype(np.float32)
    query = np.asarray(embed_text(QUERY, DIMS), dtype=np.float32)
    out: dict[str, float] = {}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        search(unit, query, 100, MetricKind.IP, exact=True)
        times.append(time.perf_counter() - start)
    out["usearch exact f32, in memory"] = statistics.median(times)
    sample = min(20_000, len(unit))
    index = Index(ndim=DIMS, metric="ip", dtype="i8")
    start = time.perf_counter()
    index.add(np.arange(sample), unit[:sample])
    out[f"usearch HNSW build, {sample:,} vectors"] = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        index.search(query, 100)
        times.append(time.perf_counter() - start)
    out[f"usearch HNSW search, {sample:,} vectors"] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--today", type=Path, default=Path("/work/main"))
    parser.add_argument("--no-today", action="store_true", help="skip today's pure-Python store")
    parser.add_argument("--candidates", action="store_true", help="also time usearch")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lmtui-semantic-bench-") as tmp:
        data_home = Path(tmp) / "data"
        db = data_home / "lmtui" / "history.sqlite3"
        db.parent.mkdir(parents=True)
        start = time.perf_counter()
        planted = write_history(db, args.messages)
        words = _words(random.Random(20261130))
        count = store_vectors(db, words)
        setup = time.perf_counter() - start
        size = sum(f.stat().st_size for f in db.with_name("history.vectors").iterdir())
        print(
            f"setup: {count:,} messages embedded and stored in {setup:.1f} s; "
            f"vector files {size / 1e6:.0f} MB"
        )

        seconds, top = query_in_process(db, args.runs)
        print(
            f"VectorStore.query, {count:,} x {DIMS}: {seconds * 1000:.1f} ms (median of "
            f"{args.runs}); planted conversation first: {top[0] == planted}"
        )
        rss = rss_growth(db)
        growth = (rss["peak"] - rss["before"]) / 1e6
        print(
            f"RSS growth over one query in a fresh process: {growth:.1f} MB "
            f"(VmRSS {rss['before'] / 1e6:.0f} → peak {rss['peak'] / 1e6:.0f} MB)"
        )

        server = FakeServer()
        server.embedding_dims = DIMS
        with server:
            s, v, out = whole_process(data_home, server.base_url, args.runs)
        first = out["hits"][0]["id"] if out["hits"] else None
        print(
            f"lmtui history search --semantic (whole process): {s * 1000:.0f} ms; "
            f"lmtui --version {v * 1000:.0f} ms; difference {(s - v) * 1000:.0f} ms; "
            f"planted conversation first: {first == planted}"
        )

        if not args.no_today:
            old = today(db, args.today)
            print(
                f"today's pure-Python store ({args.today}): cold {old['cold']:.2f} s, "
                f"warm {old['warm']:.2f} s; ratio warm / new "
                f"{old['warm'] / seconds:.0f}x; planted first: {old['top'][0] == planted}"
            )
        if args.candidates:
            for label, value in candidates(db, args.runs).items():
                print(f"{label}: {value * 1000:.1f} ms")
        ok = top[0] == planted and first == planted
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
