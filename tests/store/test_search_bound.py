"""A search ranks at most a bound of matching messages (the newest) and says when it did.

At a million messages, ranking every match of a common word or a short prefix took
seconds to tens of seconds, and each hit's snippet ran the whole query again. These
check the shape of the work: the bound, the report, equality with the full ranking
under it, and a number of SQL statements that does not grow with the hits.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.backend.types import ToolCall
from lmtui.store.history import HistoryStore, fts_query
from lmtui.store.history_native import ReplyFacts
from lmtui.store.search_candidates import CANDIDATES, SearchHits

WORDS = ("amber", "basalt", "cobalt", "dune")


def full_ranking(conn: sqlite3.Connection, query: str) -> list[int]:
    """Every matching conversation by its best message's bm25 plus its title, as before."""
    match = fts_query(query)
    scores = {
        int(cid): float(rank)
        for cid, rank in conn.execute(
            "SELECT m.conversation_id, min(f.rank) FROM messages_fts f "
            "JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ? "
            "GROUP BY m.conversation_id",
            (match,),
        )
    }
    for cid, rank in conn.execute(
        "SELECT rowid, rank FROM titles_fts WHERE titles_fts MATCH ?", (match,)
    ):
        scores[cid] = scores.get(cid, 0.0) + 2.0 * rank
    live = {r[0] for r in conn.execute("SELECT id FROM conversations WHERE deleted IS NULL")}
    ranked = sorted(scores.items(), key=lambda item: (item[1], -item[0]))
    return [cid for cid, _ in ranked if cid in live]


def test_a_common_word_ranks_only_the_newest_matches_and_says_so(store: HistoryStore) -> None:
    old = store.create_conversation("Old")
    store.add_message(old, "user", "granite granite granite granite")  # the best match
    newer = []
    for i in range(6):
        cid = store.create_conversation(f"New {i}")
        store.add_message(cid, "user", f"granite and other stones, note {i}")
        newer.append(cid)
    hits = store.search("granite", limit=None, candidates=4)
    assert isinstance(hits, SearchHits)
    assert hits.ranked_newest == 4
    # The four newest matching messages are ranked; the old best match is not reached.
    assert {h.conversation_id for h in hits} == set(newer[-4:])
    everything = store.search("granite", limit=None, candidates=100)
    assert everything.ranked_newest is None
    assert everything[0].conversation_id == old
    assert len(everything) == 7


def test_the_default_bound_is_the_documented_one(store: HistoryStore) -> None:
    cid = store.create_conversation("x")
    store.add_message(cid, "user", "quartz")
    hits = store.search("quartz")
    assert hits.ranked_newest is None
    assert CANDIDATES == 5000  # docs/history.md and the browser's status line name it


def test_tool_calls_are_bounded_too(store: HistoryStore) -> None:
    cid = store.create_conversation("Tools")
    mid = store.add_message(cid, "assistant", "calling tools")
    calls = tuple(
        ToolCall(id=f"c{i}", name="lookup", arguments=f'{{"q": "obsidian {i}"}}', output="ok")
        for i in range(3)
    )
    store.save_reply_facts(mid, ReplyFacts(tool_calls=calls))
    hits = store.search("obsidian", limit=None, candidates=2)
    assert hits.ranked_newest == 2
    assert [h.conversation_id for h in hits] == [cid]
    assert hits[0].snippet.startswith("[tool lookup]")


corpora = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), max_size=2),  # title words
        st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5), max_size=4),
        st.booleans(),  # deleted
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=30, deadline=None)
@given(corpus=corpora, prefix=st.booleans())
def test_under_the_bound_the_order_is_the_full_ranking(
    corpus: list[tuple[list[str], list[list[str]], bool]], prefix: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "h.sqlite3") as store:
        for title_words, messages, deleted in corpus:
            cid = store.create_conversation(" ".join(["Chat", *title_words]))
            for words in messages:
                store.add_message(cid, "user", " ".join(words))
            if deleted:
                store.delete_conversation(cid)
        conn = store._connection()
        for word in WORDS:
            hits = store.search(word, limit=None)
            assert hits.ranked_newest is None
            assert [h.conversation_id for h in hits] == full_ranking(conn, word)
            for h in hits:
                assert f"«{word}»" in h.snippet
            if prefix:  # the same words typed half-way find the same conversations
                typed = store.search(word[:3], limit=None, prefix=True)
                assert {h.conversation_id for h in typed} == {h.conversation_id for h in hits}


def test_statements_do_not_grow_with_the_hits(store: HistoryStore) -> None:
    """Each hit's snippet used to run the query again (~0.4 s a time for a prefix at 1M)."""
    for i in range(60):
        cid = store.create_conversation(f"Topic {i}" if i % 3 else f"jasper notes {i}")
        if i % 3:
            store.add_message(cid, "user", f"a line about jasper, number {i}")
    statements: list[str] = []
    conn = store._connection()
    conn.set_trace_callback(statements.append)
    try:
        hits = store.search("jasp", limit=None, prefix=True)
    finally:
        conn.set_trace_callback(None)
    assert len(hits) == 60
    assert all("«jasper»" in h.snippet for h in hits)
    ours = [s for s in statements if not s.startswith("--")]  # not FTS5's own, nested ones
    assert len(ours) <= 8, ours
