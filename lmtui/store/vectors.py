"""Message embeddings, kept in the history database in a table of their own.

The table lives next to the history's tables but is not part of its schema: it
is created on first use, never touches ``PRAGMA user_version`` and can be
dropped at any time (the next index run rebuilds it). Vectors are L2-normalised
before they are stored, so a cosine similarity is a plain dot product.

Each row remembers a digest of the text it was computed from: a message edited
since, or a deleted message whose id SQLite handed to a new one, no longer
matches and is embedded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import operator
import sqlite3
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmtui.store.history import HistoryUnavailable
from lmtui.store.paths import close_down, ensure_private_dir, history_db, private_file_opener

# Only text worth finding: finished or partial replies and prompts, not failed ones.
INDEXED_ROLES = ("user", "assistant")
INDEXED_STATES = ("complete", "stopped", "interrupted")

_CREATE = (
    "CREATE TABLE IF NOT EXISTS message_vectors("
    "message_id INTEGER PRIMARY KEY, model TEXT, dim INTEGER, vector BLOB, "
    "digest TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS message_vectors_model ON message_vectors (model)",
)


def text_digest(text: str) -> str:
    """A short fingerprint of a message's text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def normalise(vector: Sequence[float]) -> array[float]:
    """``vector`` scaled to unit length (a zero vector stays zero), as 32-bit floats."""
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0:
        return array("f", (0.0 for _ in vector))
    return array("f", (x / norm for x in vector))


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    """The dot product: the cosine similarity of two normalised vectors."""
    total: float = sum(map(operator.mul, a, b))
    return total


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message that has no up-to-date vector for a model."""

    message_id: int
    text: str


@dataclass(frozen=True, slots=True)
class VectorHit:
    """One stored message ranked against a query vector."""

    message_id: int
    conversation_id: int
    title: str
    role: str
    content: str
    score: float


@dataclass(frozen=True, slots=True)
class _Row:
    message_id: int
    conversation_id: int
    vector: array[float]


class VectorStore:
    """The ``message_vectors`` table of a history database.

    Open the :class:`~lmtui.store.history.HistoryStore` on the same file first: it
    creates the tables this one joins with. Every method raises
    :class:`~lmtui.store.history.HistoryUnavailable` when the database cannot be used.
    """

    def __init__(self, path: Path | None = None, *, busy_timeout: float = 5.0) -> None:
        self.path = path if path is not None else history_db()
        self._lock = threading.RLock()
        self._cache: dict[str, list[_Row]] = {}
        self._conn: sqlite3.Connection | None = None
        with self._guard("open the vector index"):
            ensure_private_dir(self.path.parent)
            with open(self.path, "ab", opener=private_file_opener):
                pass
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                for statement in _CREATE:
                    conn.execute(statement)
                conn.create_function("lmtui_digest", 1, text_digest, deterministic=True)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            close_down(self.path)

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise HistoryUnavailable(
                f"semantic search is not available: {what}: {exc}",
                "Open lmtui's history once (it creates the database), check the data "
                "directory is writable, then index again.",
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryUnavailable("semantic search is not available: the store is closed", "")
        return self._conn

    # ---- what needs embedding -----------------------------------------------

    _PENDING_WHERE = (
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "LEFT JOIN message_vectors v ON v.message_id = m.id "
        "WHERE c.deleted IS NULL "
        f"AND m.role IN ({', '.join(repr(r) for r in INDEXED_ROLES)}) "
        f"AND m.state IN ({', '.join(repr(s) for s in INDEXED_STATES)}) "
        "AND trim(m.content) != '' "
        "AND (v.message_id IS NULL OR v.model IS NOT ? OR v.digest != lmtui_digest(m.content))"
    )

    def count_pending(self, model: str) -> int:
        """How many messages have no up-to-date vector for ``model``."""
        with self._lock, self._guard("count messages to index"):
            row = (
                self._connection()
                .execute(f"SELECT count(*) {self._PENDING_WHERE}", (model,))
                .fetchone()
            )
            return int(row[0])

    def pending(self, model: str, *, limit: int, after: int = 0) -> list[PendingMessage]:
        """Up to ``limit`` messages (ids above ``after``) without an up-to-date vector."""
        with self._lock, self._guard("list messages to index"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT m.id, m.content {self._PENDING_WHERE} AND m.id > ? "
                    "ORDER BY m.id LIMIT ?",
                    (model, after, limit),
                )
                .fetchall()
            )
        return [PendingMessage(int(r[0]), str(r[1])) for r in rows]

    def count_indexed(self, model: str) -> int:
        """How many live messages have a vector for ``model``."""
        with self._lock, self._guard("count indexed messages"):
            row = (
                self._connection()
                .execute(
                    "SELECT count(*) FROM message_vectors v JOIN messages m "
                    "ON m.id = v.message_id WHERE v.model = ?",
                    (model,),
                )
                .fetchone()
            )
            return int(row[0])

    # ---- writing --------------------------------------------------------------

    def put(self, model: str, items: Sequence[tuple[PendingMessage, Sequence[float]]]) -> None:
        """Store one vector per message (replacing any older one), normalised."""
        rows = []
        for message, vector in items:
            unit = normalise(vector)
            rows.append(
                (message.message_id, model, len(unit), unit.tobytes(), text_digest(message.text))
            )
        with self._lock, self._guard("save vectors"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO message_vectors "
                    "(message_id, model, dim, vector, digest) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._cache.pop(model, None)

    def prune(self) -> int:
        """Drop vectors of messages that no longer exist; return how many."""
        with self._lock, self._guard("prune vectors"):
            cur = self._connection().execute(
                "DELETE FROM message_vectors WHERE message_id NOT IN (SELECT id FROM messages)"
            )
            self._cache.clear()
            return max(cur.rowcount, 0)

    def clear(self, model: str | None = None) -> None:
        """Forget every vector (of one model, or all), to index again from scratch."""
        with self._lock, self._guard("clear vectors"):
            if model is None:
                self._connection().execute("DELETE FROM message_vectors")
            else:
                self._connection().execute("DELETE FROM message_vectors WHERE model = ?", (model,))
            self._cache.clear()

    # ---- querying ---------------------------------------------------------------

    def _rows(self, model: str) -> list[_Row]:
        cached = self._cache.get(model)
        if cached is not None:
            return cached
        with self._guard("read vectors"):
            found = (
                self._connection()
                .execute(
                    "SELECT v.message_id, m.conversation_id, v.vector FROM message_vectors v "
                    "JOIN messages m ON m.id = v.message_id "
                    "JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE v.model = ? AND c.deleted IS NULL "
                    "AND v.digest = lmtui_digest(m.content)",
                    (model,),
                )
                .fetchall()
            )
        rows = []
        for message_id, conversation_id, blob in found:
            vector = array("f")
            vector.frombytes(blob)
            rows.append(_Row(int(message_id), int(conversation_id), vector))
        self._cache[model] = rows
        return rows

    def query(
        self, model: str, vector: Sequence[float], *, limit: int = 20, per_conversation: int = 1
    ) -> list[VectorHit]:
        """Messages most similar to ``vector``, best first.

        At most ``per_conversation`` hits come from one conversation, so one long
        chat cannot fill the list. Vectors of another dimension are ignored.
        """
        query = normalise(vector)
        with self._lock:
            rows = self._rows(model)
            scored = [
                (dot(query, row.vector), row) for row in rows if len(row.vector) == len(query)
            ]
            scored.sort(key=lambda item: item[0], reverse=True)
            chosen: list[tuple[float, _Row]] = []
            per: dict[int, int] = {}
            for score, row in scored:
                if per.get(row.conversation_id, 0) >= per_conversation:
                    continue
                per[row.conversation_id] = per.get(row.conversation_id, 0) + 1
                chosen.append((score, row))
                if len(chosen) >= limit:
                    break
            if not chosen:
                return []
            ids = ",".join(str(row.message_id) for _, row in chosen)
            with self._guard("read matching messages"):
                details = {
                    int(r[0]): (str(r[1]), str(r[2]), str(r[3]))
                    for r in self._connection().execute(
                        "SELECT m.id, c.title, m.role, m.content FROM messages m "
                        "JOIN conversations c ON c.id = m.conversation_id "
                        f"WHERE c.deleted IS NULL AND m.id IN ({ids})"
                    )
                }
        hits = []
        for score, row in chosen:
            if row.message_id not in details:
                continue  # deleted (or moved to the trash) since the vectors were read
            title, role, content = details[row.message_id]
            hits.append(VectorHit(row.message_id, row.conversation_id, title, role, content, score))
        return hits
