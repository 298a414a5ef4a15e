"""Semantic search over the fake server's deterministic bag-of-words embeddings."""

from __future__ import annotations

from typing import Any

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError, ServerUnreachable
from lmtui.services.semantic import IndexProgress, SemanticSearch, fuse
from lmtui.store.history import HistoryStore, SearchHit
from lmtui.store.vectors import VectorHit, VectorStore
from tests.fake_server import CONTEXT_OVERFLOW_LLAMACPP, FakeServer
from tests.workbench.helpers import CHAT_MODEL, EMBEDDER, add_conversation


def _inputs(server: FakeServer) -> list[list[str]]:
    """The ``input`` list of every embeddings request, oldest first."""
    return [r.json_body["input"] for r in server.requests_to("/v1/embeddings")]


def _search(
    client: LMStudioClient, history: HistoryStore, vectors: VectorStore, **kw: Any
) -> SemanticSearch:
    return SemanticSearch(client, history, vectors, EMBEDDER, **kw)


async def test_index_is_batched_incremental_and_reports_progress(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "tomato seedlings in spring", "plant them after the frost")
    add_conversation(history, "python keyerror in my script")
    seen: list[IndexProgress] = []
    search = _search(client, history, vectors, batch_size=2)

    state = await search.index(seen.append)

    assert state == IndexProgress(EMBEDDER, total=3, done=3)
    assert [(p.total, p.done) for p in seen] == [(3, 0), (3, 2), (3, 3)]
    assert _inputs(fake_server) == [
        ["tomato seedlings in spring", "plant them after the frost"],
        ["python keyerror in my script"],
    ]

    # Nothing new: nothing sent. One new message: only it is sent.
    assert (await search.index()).done == 0
    cid = add_conversation(history, "a question about sourdough bread")
    history.add_message(cid, "assistant", "")  # empty replies are not embedded
    await search.index()
    assert _inputs(fake_server)[2:] == [["a question about sourdough bread"]]
    assert await search.pending_count() == 0


async def test_search_by_meaning_finds_the_closest_conversation(
    client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    garden = add_conversation(history, "when to plant tomato seedlings", "after the last frost")
    code = add_conversation(history, "python raises keyerror reading a dict")
    add_conversation(history, "a trip to paris in may")
    search = _search(client, history, vectors)
    await search.index()

    hits = await search.search("tomato seedlings", words=False)

    assert hits[0].conversation_id == garden
    assert hits[0].matched_by == ("meaning",)
    assert hits[0].snippet == "when to plant tomato seedlings"
    assert hits[0].similarity is not None and hits[0].similarity > hits[1].score
    assert (await search.search("keyerror dict", words=False))[0].conversation_id == code
    assert await search.search("   ") == []


async def test_words_and_meaning_are_fused(
    client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    indexed = add_conversation(history, "growing tomato plants on a balcony")
    add_conversation(history, "fixing a bicycle chain")
    search = _search(client, history, vectors)
    await search.index()
    # Added after indexing: only the full-text search can find it.
    words_only = add_conversation(history, "tomato soup with basil")

    hits = await search.search("tomato")

    by_id = {h.conversation_id: h for h in hits}
    assert hits[0].conversation_id == indexed
    assert by_id[indexed].matched_by == ("meaning", "words")
    assert by_id[words_only].matched_by == ("words",)
    assert "«tomato»" in by_id[words_only].snippet
    assert by_id[indexed].score > by_id[words_only].score


def test_fusion_rewards_agreement() -> None:
    meaning = [
        VectorHit(11, 1, "one", "user", "alpha", 0.9),
        VectorHit(22, 2, "two", "user", "beta", 0.8),
    ]
    words = [
        SearchHit(2, "two", "«beta»", -3.0, 0.0),
        SearchHit(3, "three", "«gamma»", -2.0, 0.0),
    ]
    fused = fuse(meaning, words)
    # 2 is second by meaning and first by words: it beats 1 (first by meaning alone).
    assert [h.conversation_id for h in fused] == [2, 1, 3]
    assert fused[0].message_id == 22 and fused[0].snippet == "«beta»"


async def test_a_too_long_message_is_retried_alone_and_split(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    long_text = "word " * 300  # 1500 characters
    add_conversation(history, long_text, "short reply")
    for _ in range(2):
        fake_server.enqueue(CONTEXT_OVERFLOW_LLAMACPP, "/v1/embeddings")

    state = await _search(client, history, vectors, max_chars=2000).index()

    assert state.done == 2
    assert [[len(s) for s in batch] for batch in _inputs(fake_server)] == [
        [1500, 11],  # the batch: overflow
        [1500],  # the long one alone: overflow
        [375, 375, 375, 375],  # cut in quarters: fits, nothing is lost
        [11],
    ]
    assert vectors.count_indexed(EMBEDDER) == 2
    assert vectors.count_rows(EMBEDDER) == (5, 5)


async def test_a_model_that_cannot_embed_raises_and_stores_nothing(
    client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "anything")
    search = SemanticSearch(client, history, vectors, CHAT_MODEL)
    with pytest.raises(LmtuiError, match="not an embedding model"):
        await search.index()
    assert vectors.count_indexed(CHAT_MODEL) == 0


async def test_work_done_before_the_server_went_away_is_kept(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "one", "two", "three")
    search = _search(client, history, vectors, batch_size=1)
    seen: list[IndexProgress] = []

    def stop_after_first(p: IndexProgress) -> None:
        seen.append(p)
        if p.done == 1:
            fake_server.close()

    with pytest.raises(ServerUnreachable):
        await search.index(stop_after_first)
    assert vectors.count_indexed(EMBEDDER) == 1
    assert [p.text for p in vectors.pending(EMBEDDER, limit=10)] == ["two", "three"]
