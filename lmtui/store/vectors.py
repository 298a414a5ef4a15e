"""Message embeddings: int8 vectors in flat files, their bookkeeping in SQLite.

Layout, next to the history database (``history.sqlite3``):

- ``history.vectors/<key>.i8``: one row of ``dim`` signed bytes per embedded chunk,
  appended in order; ``<key>.scale``: one float32 per row. A stored vector is the
  L2-normalised embedding times its row's scale (``127 / max |x|``), rounded, so a
  cosine similarity is ``int8_row · query / scale``.
- two tables of their own in the history database (created on first use, outside
  the history's schema: no ``PRAGMA user_version`` change, droppable at any time):
  ``vector_models`` (model id → dimension and file key) and ``vector_rows`` (file
  row → message, chunk span and a digest of the message's text).

A query reads the file in blocks of :data:`BLOCK_ROWS` rows (a few MB at a time,
so memory stays flat whatever the history's size), scores every row with numpy,
and only then asks SQLite about the best candidates: rows whose message was
edited (digest differs), deleted or moved to the trash are skipped there. Rows
that lost their message are dead weight in the file until :meth:`compact`
rewrites it.

Writers take SQLite's write lock (``BEGIN IMMEDIATE``) before appending, so two
processes indexing at once cannot interleave rows; rows appended by a writer that
died before its commit have no ``vector_rows`` entry and are never returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmtui.store.history import HistoryUnavailable
from lmtui.store.lock_wait import history_busy_timeout
from lmtui.store.paths import close_down, ensure_private_dir, history_db, private_file_opener

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Only text worth finding: finished or partial replies and prompts, not failed ones.
INDEXED_ROLES = ("user", "assistant")
INDEXED_STATES = ("complete", "stopped", "interrupted")
# Rows scored per read: 1024 x 768 bytes = 0.8 MB of file, 3 MB as float32 (fits a
# cache better than 4096 rows did; measured a little faster).
BLOCK_ROWS = 1024
# Compact a model's file when at least this many rows are dead and they are half of it.
COMPACT_MIN_DEAD = 1024

_CREATE = (
    "CREATE TABLE IF NOT EXISTS vector_models("
    "model TEXT PRIMARY KEY, dim INTEGER NOT NULL, key TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vector_rows("
    "model TEXT NOT NULL, row INTEGER NOT NULL, message_id INTEGER NOT NULL, "
    "chunk INTEGER NOT NULL, chunks INTEGER NOT NULL, start INTEGER NOT NULL, "
    "end INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (model, row)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS vector_rows_message ON vector_rows (model, message_id, chunk)",
    # The pure-Python store's table (one float32 blob per message): superseded.
    "DROP TABLE IF EXISTS message_vectors",
)


def _one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread, if numpy is not imported yet.

    A 768-wide matrix-vector product gains nothing from threads, and on a busy
    machine OpenBLAS's spinning threads made one search 5-10x slower (measured:
    20,000 vectors, 9-17 ms with one thread, 87-114 ms with two, load average 6).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def text_digest(text: str) -> str:
    """A short fingerprint of a message's text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def unit_rows(vectors: Sequence[Sequence[float]]) -> npt.NDArray[np.float32]:
    """``vectors`` as a float32 matrix, each row scaled to unit length (zero rows stay zero)."""
    _one_blas_thread()
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    unit: npt.NDArray[np.float32] = matrix / norms
    return unit


def quantise(unit: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Unit rows as int8 rows and their scales (``row ≈ int8 / scale``)."""
    _one_blas_thread()
    import numpy as np

    peak = np.abs(unit).max(axis=1)
    peak[peak == 0.0] = 1.0
    scale = (127.0 / peak).astype(np.float32)
    rows = np.rint(unit * scale[:, None]).astype(np.int8)
    return rows, scale


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message that has no up-to-date vector for a model."""

    message_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ChunkVector:
    """The embedding of ``text[start:end]`` of a message (chunk ``chunk`` of ``chunks``)."""

    chunk: int
    chunks: int
    start: int
    end: int
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class VectorHit:
    """One stored chunk ranked against a query vector.

    ``content`` is the chunk's text; ``chunk`` counts from 0 among ``chunks``.
    """

    message_id: int
    conversation_id: int
    title: str
    role: str
    content: str
    score: float
    chunk: int = 0
    chunks: int = 1


def _model_key(model: str) -> str:
    return hashlib.blake2b(model.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


class VectorStore:
    """The vectors of a history database, for any number of embedding models.

    Open the :class:`~lmtui.store.history.HistoryStore` on the same file first: it
    creates the tables this one joins with. Every method raises
    :class:`~lmtui.store.history.HistoryUnavailable` when the database or the vector
    files cannot be used.
    """

    def __init__(self, path: Path | None = None, *, busy_timeout: float | None = None) -> None:
        self.path = path if path is not None else history_db()
        if busy_timeout is None:  # 5 s, or LMTUI_HISTORY_BUSY_TIMEOUT
            busy_timeout = history_busy_timeout()
        self.directory = self.path.with_name(self.path.stem + ".vectors")
        self._lock = threading.RLock()
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
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise HistoryUnavailable(
                f"semantic search is not available: {what}: {exc}",
                "Open lmtui's history once (it creates the database), check the data "
                "directory is writable, then index again (`lmtui history index`).",
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryUnavailable("semantic search is not available: the store is closed", "")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ---- files ------------------------------------------------------------------

    def _files(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.i8", self.directory / f"{key}.scale"

    def _model(self, model: str) -> tuple[int, str] | None:
        row = (
            self._connection()
            .execute("SELECT dim, key FROM vector_models WHERE model = ?", (model,))
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def _file_rows(self, key: str, dim: int) -> int:
        """Whole rows present in both files (a torn append leaves a partial row)."""
        vec, scale = self._files(key)
        try:
            return min(vec.stat().st_size // dim, scale.stat().st_size // 4)
        except FileNotFoundError:
            return 0

    def _append(
        self, key: str, dim: int, rows: npt.NDArray[np.int8], scales: npt.NDArray[np.float32]
    ) -> int:
        """Append rows to a model's files; return the number of the first one."""
        ensure_private_dir(self.directory)
        first = self._file_rows(key, dim)
        vec, scale = self._files(key)
        for file, width, data in ((vec, dim, rows), (scale, 4, scales)):
            with open(file, "ab", opener=private_file_opener) as fh:
                fh.truncate(first * width)  # drop a torn row before appending
                fh.write(data.tobytes())
        return first

    # ---- what needs embedding -----------------------------------------------

    _PENDING_WHERE = (
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.deleted IS NULL "
        f"AND m.role IN ({', '.join(repr(r) for r in INDEXED_ROLES)}) "
        f"AND m.state IN ({', '.join(repr(s) for s in INDEXED_STATES)}) "
        "AND trim(m.content) != '' "
        "AND NOT EXISTS (SELECT 1 FROM vector_rows v WHERE v.model = ? "
        "AND v.message_id = m.id AND v.chunk = 0 AND v.digest = lmtui_digest(m.content))"
    )

    def count_pending(self, model: str) -> int:
        """How many messages have no up-to-date vectors for ``model``."""
        with self._lock, self._guard("count messages to index"):
            row = (
                self._connection()
                .execute(f"SELECT count(*) {self._PENDING_WHERE}", (model,))
                .fetchone()
            )
            return int(row[0])

    def pending(self, model: str, *, limit: int, after: int = 0) -> list[PendingMessage]:
        """Up to ``limit`` messages (ids above ``after``) without up-to-date vectors."""
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
        """How many live messages have vectors for ``model``."""
        with self._lock, self._guard("count indexed messages"):
            row = (
                self._connection()
                .execute(
                    "SELECT count(*) FROM vector_rows v JOIN messages m "
                    "ON m.id = v.message_id WHERE v.model = ? AND v.chunk = 0",
                    (model,),
                )
                .fetchone()
            )
            return int(row[0])

    def count_rows(self, model: str) -> tuple[int, int]:
        """Rows of ``model``'s file: (live, total). The rest wait for :meth:`compact`."""
        with self._lock, self._guard("count vector rows"):
            known = self._model(model)
            if known is None:
                return 0, 0
            live = self._connection().execute(
                "SELECT count(*) FROM vector_rows WHERE model = ?", (model,)
            )
            return int(live.fetchone()[0]), self._file_rows(known[1], known[0])

    # ---- writing --------------------------------------------------------------

    def put(
        self, model: str, items: Sequence[tuple[PendingMessage, Sequence[ChunkVector]]]
    ) -> None:
        """Store the chunk vectors of each message, replacing its older ones.

        Vectors are normalised and quantised here. A dimension other than the
        one already stored for ``model`` starts the model's index afresh.
        """
        flat = [(message, cv) for message, chunks in items for cv in chunks]
        if not flat:
            return
        unit = unit_rows([cv.vector for _, cv in flat])
        rows, scales = quantise(unit)
        dim = int(unit.shape[1])
        with self._lock, self._guard("save vectors"), self._write() as conn:
            known = self._model(model)
            if known is None or known[0] != dim:
                key = _model_key(model)
                self._drop(model, key)
                conn.execute(
                    "INSERT OR REPLACE INTO vector_models (model, dim, key) VALUES (?, ?, ?)",
                    (model, dim, key),
                )
            else:
                key = known[1]
            conn.executemany(
                "DELETE FROM vector_rows WHERE model = ? AND message_id = ?",
                {(model, m.message_id) for m, _ in items},
            )
            first = self._append(key, dim, rows, scales)
            # Entries past the file's end (a file lost or cut short) name no vector.
            conn.execute("DELETE FROM vector_rows WHERE model = ? AND row >= ?", (model, first))
            digests = {m.message_id: text_digest(m.text) for m, _ in items}
            conn.executemany(
                "INSERT INTO vector_rows (model, row, message_id, chunk, chunks, start, end, "
                "digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        model,
                        first + i,
                        m.message_id,
                        cv.chunk,
                        cv.chunks,
                        cv.start,
                        cv.end,
                        digests[m.message_id],
                    )
                    for i, (m, cv) in enumerate(flat)
                ],
            )

    def _drop(self, model: str, key: str) -> None:
        """Forget a model's rows and files (inside a write transaction)."""
        conn = self._connection()
        conn.execute("DELETE FROM vector_rows WHERE model = ?", (model,))
        conn.execute("DELETE FROM vector_models WHERE model = ?", (model,))
        for file in self._files(key):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()

    def prune(self) -> int:
        """Forget rows of messages that no longer exist; return how many."""
        with self._lock, self._guard("prune vectors"):
            cur = self._connection().execute(
                "DELETE FROM vector_rows WHERE message_id NOT IN (SELECT id FROM messages)"
            )
            return max(cur.rowcount, 0)

    def compact(self, model: str, *, force: bool = False) -> bool:
        """Rewrite ``model``'s files without dead rows when they are half of them.

        Returns whether it rewrote them. ``force`` compacts any dead row away.
        """
        _one_blas_thread()
        import numpy as np

        with self._lock, self._guard("compact vectors"), self._write() as conn:
            known = self._model(model)
            if known is None:
                return False
            dim, key = known
            total = self._file_rows(key, dim)
            live = [
                int(r[0])
                for r in conn.execute(
                    "SELECT row FROM vector_rows WHERE model = ? AND row < ? ORDER BY row",
                    (model, total),
                )
            ]
            dead = total - len(live)
            if dead == 0 or (not force and (dead < COMPACT_MIN_DEAD or dead * 2 < total)):
                return False
            vec, scale = self._files(key)
            keep = np.asarray(live, dtype=np.int64)
            matrix = np.fromfile(vec, dtype=np.int8, count=total * dim).reshape(total, dim)
            scales = np.fromfile(scale, dtype=np.float32, count=total)
            for file, data in ((vec, matrix[keep]), (scale, scales[keep])):
                tmp = file.with_suffix(file.suffix + ".tmp")
                with open(tmp, "wb", opener=private_file_opener) as fh:
                    fh.write(data.tobytes())
                os.replace(tmp, file)
            # Renumber in place: new row = rank of the old one (rows only move down).
            conn.execute("DELETE FROM vector_rows WHERE model = ? AND row >= ?", (model, total))
            conn.executemany(
                "UPDATE vector_rows SET row = ? WHERE model = ? AND row = ?",
                [(new, model, old) for new, old in enumerate(live) if new != old],
            )
            return True

    def clear(self, model: str | None = None) -> None:
        """Forget every vector (of one model, or all), to index again from scratch."""
        with self._lock, self._guard("clear vectors"), self._write() as conn:
            models = [
                (str(r[0]), str(r[1]))
                for r in conn.execute("SELECT model, key FROM vector_models")
                if model is None or r[0] == model
            ]
            for name, key in models:
                self._drop(name, key)

    # ---- querying ---------------------------------------------------------------

    def _scores(self, key: str, dim: int, query: npt.NDArray[np.float32]) -> Any:
        """Cosine similarity of ``query`` with every row of the file, as float32."""
        _one_blas_thread()
        import numpy as np

        total = self._file_rows(key, dim)
        vec, scale = self._files(key)
        scores = np.empty(total, dtype=np.float32)
        size = min(BLOCK_ROWS, max(total, 1))
        # Both buffers are reused: a fresh 3-12 MB array per block costs page faults.
        block = np.empty((size, dim), dtype=np.int8)
        floats = np.empty((size, dim), dtype=np.float32)
        done = 0
        with open(vec, "rb") as fh:
            while done < total:
                rows = min(size, total - done)
                view = memoryview(block[:rows]).cast("B")  # type: ignore[arg-type]
                if fh.readinto(view) != rows * dim:
                    raise OSError(f"{vec} is shorter than expected")
                np.copyto(floats[:rows], block[:rows], casting="unsafe")
                np.dot(floats[:rows], query, out=scores[done : done + rows])
                done += rows
        scores /= np.fromfile(scale, dtype=np.float32, count=total)
        return scores

    def query(
        self, model: str, vector: Sequence[float], *, limit: int = 20, per_conversation: int = 1
    ) -> list[VectorHit]:
        """Chunks most similar to ``vector``, best first.

        At most ``per_conversation`` hits come from one conversation, so one long
        chat cannot fill the list. Chunks of messages edited since they were
        embedded, deleted or in the trash are skipped; a query of another
        dimension than the stored vectors finds nothing.
        """
        _one_blas_thread()
        import numpy as np

        if limit <= 0:
            return []
        with self._lock, self._guard("search vectors"):
            known = self._model(model)
            if known is None:
                return []
            dim, key = known
            query = unit_rows([vector])[0]
            if query.shape[0] != dim:
                return []
            scores = self._scores(key, dim, query)
            total = int(scores.shape[0])
            hits: list[VectorHit] = []
            per: dict[int, int] = {}
            looked: set[int] = set()
            want = min(total, max(64, limit * per_conversation * 4))
            while len(looked) < total and len(hits) < limit:
                # The best ``want`` rows, best first; later rounds widen the net when
                # too many candidates were stale or capped.
                top = np.argpartition(-scores, want - 1)[:want] if want < total else None
                if top is None:
                    top = np.arange(total)
                top = top[np.argsort(-scores[top], kind="stable")]
                batch = [r for r in (int(x) for x in top) if r not in looked]
                looked.update(batch)
                want = min(total, want * 4)
                for hit in self._resolve(model, batch, scores):
                    if per.get(hit.conversation_id, 0) >= per_conversation:
                        continue
                    per[hit.conversation_id] = per.get(hit.conversation_id, 0) + 1
                    hits.append(hit)
                    if len(hits) >= limit:
                        break
            return hits

    def _resolve(self, model: str, rows: list[int], scores: Any) -> list[VectorHit]:
        """The live, up-to-date chunks among ``rows``, in the order given."""
        found: dict[int, VectorHit] = {}
        conn = self._connection()
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            marks = ",".join("?" * len(part))
            for r in conn.execute(
                "SELECT v.row, v.message_id, m.conversation_id, c.title, m.role, m.content, "
                "v.digest, v.chunk, v.chunks, v.start, v.end FROM vector_rows v "
                "JOIN messages m ON m.id = v.message_id "
                "JOIN conversations c ON c.id = m.conversation_id "
                f"WHERE v.model = ? AND c.deleted IS NULL AND v.row IN ({marks})",
                (model, *part),
            ):
                content = str(r[5])
                if text_digest(content) != r[6]:
                    continue  # edited since it was embedded
                row = int(r[0])
                found[row] = VectorHit(
                    int(r[1]),
                    int(r[2]),
                    str(r[3]),
                    str(r[4]),
                    content[int(r[9]) : int(r[10])],
                    float(scores[row]),
                    chunk=int(r[7]),
                    chunks=int(r[8]),
                )
        return [found[r] for r in rows if r in found]
