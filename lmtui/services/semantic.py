"""Search the history by meaning: embed messages once, then rank them against a query.

Indexing is incremental: only messages without an up-to-date vector for the
chosen embedding model are sent, a batch at a time, and every batch is saved as
soon as it comes back, so an interrupted run keeps what it did. A query is
embedded with the same model and compared with every stored vector (a dot
product of normalised vectors: O(n), fine for a personal history). When the
full-text index also matches, both rankings are merged with reciprocal rank
fusion, so a hit found by its words and by its meaning comes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ContextOverflow, LmtuiError, ServerError
from lmtui.backend.types import Model
from lmtui.store.history import HistoryStore, SearchHit
from lmtui.store.vectors import PendingMessage, VectorHit, VectorStore, dot, normalise

# Reciprocal rank fusion constant: 60 is the value from the original paper and
# keeps one list's top hit from drowning the other list.
RRF_K = 60
SNIPPET_CHARS = 160
# Embedding models have small contexts (llama.cpp also caps one input at its batch
# size); the start of a message says what it is about.
DEFAULT_MAX_CHARS = 2000
DEFAULT_BATCH = 16
# A text this short fits any model: failing at this length is not about length.
MIN_CHARS = 200

LOAD_EMBEDDING_MODEL = (
    "Load an embedding model (LM Studio: `lms load text-embedding-nomic-embed-text-v1.5`, "
    "or the Developer tab); llama.cpp's server embeds with its one model when started "
    "with --embeddings."
)


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """How an index run stands; passed to the progress callback after every batch."""

    model: str
    total: int
    done: int = 0


@dataclass(frozen=True, slots=True)
class SemanticHit:
    """One conversation found by a search.

    ``score`` orders the hits: the cosine similarity for a search by meaning
    alone, the fused rank score when words were searched too. ``matched_by``
    says which searches found it (``"meaning"``, ``"words"``).
    """

    conversation_id: int
    title: str
    snippet: str
    score: float
    matched_by: tuple[str, ...]
    message_id: int | None = None
    similarity: float | None = None


def embedding_models(models: Sequence[Model]) -> list[Model]:
    """The models a server lists as embedding models."""
    return [m for m in models if m.is_embedding]


def similarity_matrix(vectors: Sequence[Sequence[float]]) -> list[list[float]]:
    """Cosine similarity of every pair of vectors (1.0 on the diagonal of non-zero ones)."""
    units = [normalise(v) for v in vectors]
    return [[dot(a, b) for b in units] for a in units]


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut to about ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# Failures that would fail every message alike: stop the run and say so.
def _fatal(exc: LmtuiError) -> bool:
    return not isinstance(exc, ContextOverflow) and type(exc) is not ServerError


class SemanticSearch:
    """Index and search one history with one embedding model."""

    def __init__(
        self,
        client: LMStudioClient,
        history: HistoryStore,
        vectors: VectorStore,
        model: str,
        *,
        batch_size: int = DEFAULT_BATCH,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.client = client
        self.history = history
        self.vectors = vectors
        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_chars = max(MIN_CHARS, max_chars)

    # ---- indexing ---------------------------------------------------------------

    async def pending_count(self) -> int:
        """How many messages an index run would embed."""
        return await asyncio.to_thread(self.vectors.count_pending, self.model)

    async def index(self, progress: Callable[[IndexProgress], None] | None = None) -> IndexProgress:
        """Embed every message that has no up-to-date vector for the model.

        Each batch is stored as soon as it is embedded, so a run that fails or is
        cancelled keeps what it did and the next run goes on from there. Errors
        (server gone, not an embedding model, embeddings not supported) are raised.
        """
        await asyncio.to_thread(self.vectors.prune)
        total = await self.pending_count()
        state = IndexProgress(self.model, total)
        if progress is not None:
            progress(state)
        after = 0
        while True:
            batch = await asyncio.to_thread(
                self.vectors.pending, self.model, limit=self.batch_size, after=after
            )
            if not batch:
                break
            after = batch[-1].message_id
            embedded = await self._embed(batch)
            await asyncio.to_thread(self.vectors.put, self.model, embedded)
            done = state.done + len(embedded)
            state = IndexProgress(self.model, max(total, done), done)
            if progress is not None:
                progress(state)
        return state

    async def _embed(
        self, batch: list[PendingMessage]
    ) -> list[tuple[PendingMessage, tuple[float, ...]]]:
        """Embed a batch; when one input is too long for the model, each alone, shortened."""
        try:
            result = await self.client.embed(self.model, [self._clip(m.text) for m in batch])
            return list(zip(batch, result.vectors, strict=True))
        except LmtuiError as exc:
            if _fatal(exc):
                raise
        return [(message, await self._embed_one(message)) for message in batch]

    async def _embed_one(self, message: PendingMessage) -> tuple[float, ...]:
        """Embed one message, cutting it shorter until the model accepts it.

        Failing even at ``MIN_CHARS`` means the model cannot embed at all (not an
        embedding model, server error): that error is raised.
        """
        limit = min(self.max_chars, len(message.text))
        while True:
            try:
                result = await self.client.embed(self.model, [message.text[:limit]])
                return result.vectors[0]
            except LmtuiError as exc:
                if _fatal(exc) or limit <= MIN_CHARS:
                    raise
            limit = max(MIN_CHARS, limit // 4)

    def _clip(self, text: str) -> str:
        return text[: self.max_chars]

    # ---- searching --------------------------------------------------------------

    async def search_meaning(self, query: str, *, limit: int = 10) -> list[VectorHit]:
        """Messages closest in meaning to ``query``: at most one per conversation."""
        if not query.strip():
            return []
        result = await self.client.embed(self.model, [self._clip(query)])
        return await asyncio.to_thread(
            self.vectors.query, self.model, result.vectors[0], limit=limit
        )

    async def search(self, query: str, *, limit: int = 10, words: bool = True) -> list[SemanticHit]:
        """Conversations matching ``query`` by meaning (and by words when ``words``).

        With ``words``, the full-text ranking and the meaning ranking are fused
        (reciprocal rank fusion). A full-text failure only drops that half.
        """
        meaning = await self.search_meaning(query, limit=limit * 2)
        text_hits: list[SearchHit] = []
        if words:
            try:
                text_hits = await asyncio.to_thread(self.history.search, query, limit=limit * 2)
            except LmtuiError:
                text_hits = []
        if not text_hits:
            return [
                SemanticHit(
                    h.conversation_id,
                    h.title,
                    snippet(h.content),
                    h.score,
                    ("meaning",),
                    message_id=h.message_id,
                    similarity=h.score,
                )
                for h in meaning[:limit]
            ]
        return fuse(meaning, text_hits)[:limit]


def fuse(meaning: Sequence[VectorHit], words: Sequence[SearchHit]) -> list[SemanticHit]:
    """Merge a meaning ranking and a full-text ranking by reciprocal rank fusion."""
    scores: dict[int, float] = {}
    found: dict[int, SemanticHit] = {}
    for rank, vh in enumerate(meaning, 1):
        scores[vh.conversation_id] = scores.get(vh.conversation_id, 0.0) + 1.0 / (RRF_K + rank)
        found[vh.conversation_id] = SemanticHit(
            vh.conversation_id,
            vh.title,
            snippet(vh.content),
            0.0,
            ("meaning",),
            message_id=vh.message_id,
            similarity=vh.score,
        )
    for rank, th in enumerate(words, 1):
        scores[th.conversation_id] = scores.get(th.conversation_id, 0.0) + 1.0 / (RRF_K + rank)
        known = found.get(th.conversation_id)
        if known is None:
            found[th.conversation_id] = SemanticHit(
                th.conversation_id, th.title, th.snippet, 0.0, ("words",)
            )
        else:
            # The full-text snippet shows why it matched; keep the closest message's id.
            found[th.conversation_id] = SemanticHit(
                known.conversation_id,
                known.title,
                th.snippet or known.snippet,
                0.0,
                ("meaning", "words"),
                message_id=known.message_id,
                similarity=known.similarity,
            )
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    out = []
    for cid, score in ranked:
        hit = found[cid]
        out.append(
            SemanticHit(
                hit.conversation_id,
                hit.title,
                hit.snippet,
                score,
                hit.matched_by,
                message_id=hit.message_id,
                similarity=hit.similarity,
            )
        )
    return out
