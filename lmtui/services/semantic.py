"""Search the history by meaning: embed messages once, then rank them against a query.

Indexing is incremental: only messages without an up-to-date vector for the
chosen embedding model are sent, a batch at a time, and every batch is saved as
soon as it comes back, so an interrupted run keeps what it did. A message longer
than the model takes is split into chunks, each embedded on its own; a hit names
its chunk. A query is embedded with the same model and compared with every stored
vector (numpy over int8 vectors read in blocks: ~25 ms for 200,000 768-dim
vectors, see benchmarks/README.md). When the full-text index also matches, both
rankings are merged with reciprocal rank fusion, so a hit found by its words and
by its meaning comes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import ContextOverflow, LmtuiError, ServerError
from lmtui.backend.types import Model
from lmtui.store.history import HistoryStore, SearchHit
from lmtui.store.vectors import ChunkVector, PendingMessage, VectorHit, VectorStore, unit_rows

# Reciprocal rank fusion constant: 60 is the value from the original paper and
# keeps one list's top hit from drowning the other list.
RRF_K = 60
SNIPPET_CHARS = 160
# Embedding models have small contexts (llama.cpp also caps one input at its batch
# size): longer messages are cut into chunks of at most this many characters.
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
    chunk: int = 0
    chunks: int = 1


def embedding_models(models: Sequence[Model]) -> list[Model]:
    """The models a server lists as embedding models."""
    return [m for m in models if m.is_embedding]


async def choose_embedding_model(
    client: LMStudioClient, *, explicit: str | None = None, configured: str | None = None
) -> str:
    """The embedding model to use: the one asked for, the configured one, or the server's.

    Among the server's embedding models a loaded one is preferred. Raises
    :class:`LmtuiError` (with how to load one) when the server lists none.
    """
    if explicit:
        return explicit
    if configured:
        return configured
    found = embedding_models(await client.list_models())
    if not found:
        raise LmtuiError("This server lists no embedding model.", LOAD_EMBEDDING_MODEL)
    loaded = [m for m in found if m.loaded]
    return (loaded or found)[0].id


def similarity_matrix(vectors: Sequence[Sequence[float]]) -> list[list[float]]:
    """Cosine similarity of every pair of vectors (1.0 on the diagonal of non-zero ones)."""
    if not vectors:
        return []
    units = unit_rows(vectors)
    matrix: list[list[float]] = (units @ units.T).tolist()
    return matrix


def split_text(text: str, max_chars: int) -> list[tuple[int, int]]:
    """``text`` cut into spans of at most ``max_chars`` characters, as (start, end).

    A cut falls at the last paragraph break, line break, sentence end or space in
    the second half of a span, so chunks end where the text pauses when it can.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    size = max(1, max_chars)
    while len(text) - start > size:
        end = start + size
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            at = text.rfind(sep, start + size // 2, end)
            if at != -1:
                cut = at + len(sep)
                break
        end = cut if cut != -1 else end
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return spans


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut to about ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _chunk(i: int, parts: list[tuple[int, int]], vector: tuple[float, ...]) -> ChunkVector:
    return ChunkVector(i, len(parts), parts[i][0], parts[i][1], vector)


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
        await asyncio.to_thread(self.vectors.compact, self.model)
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
    ) -> list[tuple[PendingMessage, list[ChunkVector]]]:
        """Embed a batch, chunk by chunk.

        When the model refuses an input as too long, each chunk of the batch is
        sent alone, and one it still refuses is cut into quarters (and so on); the
        smaller size is kept for the rest of the run.
        """
        spans = [(m, split_text(m.text, self.max_chars)) for m in batch]
        texts = [m.text[a:b] for m, parts in spans for a, b in parts]
        try:
            result = await self.client.embed(self.model, texts)
            vectors = iter(result.vectors)
            return [
                (m, [_chunk(i, parts, next(vectors)) for i in range(len(parts))])
                for m, parts in spans
            ]
        except LmtuiError as exc:
            if _fatal(exc):
                raise
        out = []
        for m, parts in spans:
            pieces: list[tuple[int, int, tuple[float, ...]]] = []
            for a, b in parts:
                pieces.extend(await self._embed_span(m.text, a, b))
            total = len(pieces)
            out.append((m, [ChunkVector(i, total, a, b, v) for i, (a, b, v) in enumerate(pieces)]))
        return out

    async def _embed_span(
        self, text: str, start: int, end: int
    ) -> list[tuple[int, int, tuple[float, ...]]]:
        """Embed ``text[start:end]``, in smaller pieces while the model says it is too long.

        Failing even at ``MIN_CHARS`` means the model cannot embed at all (not an
        embedding model, server error): that error is raised.
        """
        try:
            result = await self.client.embed(self.model, [text[start:end]])
            return [(start, end, result.vectors[0])]
        except LmtuiError as exc:
            if _fatal(exc) or end - start <= MIN_CHARS:
                raise
        self.max_chars = max(MIN_CHARS, min(self.max_chars, (end - start) // 4))
        parts = [(start + a, start + b) for a, b in split_text(text[start:end], self.max_chars)]
        try:
            result = await self.client.embed(self.model, [text[a:b] for a, b in parts])
            return [(a, b, v) for (a, b), v in zip(parts, result.vectors, strict=True)]
        except LmtuiError as exc:
            if _fatal(exc):
                raise
        out: list[tuple[int, int, tuple[float, ...]]] = []
        for a, b in parts:
            out.extend(await self._embed_span(text, a, b))
        return out

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
                    chunk=h.chunk,
                    chunks=h.chunks,
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
            chunk=vh.chunk,
            chunks=vh.chunks,
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
                chunk=known.chunk,
                chunks=known.chunks,
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
                chunk=hit.chunk,
                chunks=hit.chunks,
            )
        )
    return out
