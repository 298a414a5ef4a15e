"""The vector store: int8 files and their rows, staleness, ranking, chunks, compaction."""

from __future__ import annotations

import math
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmtui.store.history import HistoryStore
from lmtui.store.vectors import (
    ChunkVector,
    PendingMessage,
    VectorStore,
    quantise,
    unit_rows,
)
from tests.workbench.helpers import add_conversation

MODEL = "embedder"


class _Store:
    """``put`` one whole-message vector per item, as most of these tests want."""

    def __init__(self, vectors: VectorStore) -> None:
        self.vectors = vectors

    def put(self, model: str, items: list[tuple[PendingMessage, list[float]]]) -> None:
        self.vectors.put(model, [(m, [ChunkVector(0, 1, 0, len(m.text), v)]) for m, v in items])


def _pending(vectors: VectorStore, model: str = MODEL) -> list[PendingMessage]:
    return vectors.pending(model, limit=1000)


def test_new_messages_are_pending_and_stored_ones_are_not(
    history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "first question", "first answer")
    add_conversation(history, "second question")
    pending = _pending(vectors)
    assert [p.text for p in pending] == ["first question", "first answer", "second question"]
    assert vectors.count_pending(MODEL) == 3

    _Store(vectors).put(MODEL, [(pending[0], [1.0, 0.0]), (pending[2], [0.0, 2.0])])

    assert [p.text for p in _pending(vectors)] == ["first answer"]
    assert vectors.count_indexed(MODEL) == 2
    # Another model has indexed nothing.
    assert vectors.count_pending("other-model") == 3


def test_edited_message_is_embedded_again(history: HistoryStore, vectors: VectorStore) -> None:
    cid = add_conversation(history, "about cats")
    (msg,) = _pending(vectors)
    _Store(vectors).put(MODEL, [(msg, [1.0, 0.0])])
    assert _pending(vectors) == []

    history.update_message(msg.message_id, content="about dogs")

    assert _pending(vectors) == [PendingMessage(msg.message_id, "about dogs")]
    # The stale vector is not used for ranking either.
    assert vectors.query(MODEL, [1.0, 0.0]) == []
    assert cid


def test_system_empty_and_failed_messages_are_not_indexed(
    history: HistoryStore, vectors: VectorStore
) -> None:
    cid = history.create_conversation("t")
    history.add_message(cid, "system", "You are terse.")
    history.add_message(cid, "user", "   ")
    history.add_message(cid, "assistant", "partial", state="error", error="boom")
    history.add_message(cid, "user", "a real question")
    assert [p.text for p in _pending(vectors)] == ["a real question"]


def test_query_ranks_by_cosine_one_hit_per_conversation(
    history: HistoryStore, vectors: VectorStore
) -> None:
    a = add_conversation(history, "north", "north-east")
    b = add_conversation(history, "east")
    msgs = {p.text: p for p in _pending(vectors)}
    _Store(vectors).put(
        MODEL,
        [
            (msgs["north"], [0.0, 3.0]),
            (msgs["north-east"], [1.0, 1.0]),
            (msgs["east"], [5.0, 0.0]),
        ],
    )

    hits = vectors.query(MODEL, [0.1, 1.0])

    assert [(h.conversation_id, h.content) for h in hits] == [(a, "north"), (b, "east")]
    assert hits[0].score == pytest.approx(1.0 / math.sqrt(1.01), abs=0.01)
    assert hits[0].score > hits[1].score
    two = vectors.query(MODEL, [0.1, 1.0], per_conversation=2)
    assert [h.content for h in two] == ["north", "north-east", "east"]


def test_deleted_conversations_and_messages_drop_out(
    history: HistoryStore, vectors: VectorStore
) -> None:
    keep = add_conversation(history, "kept text")
    gone = add_conversation(history, "trashed text")
    msgs = {p.text: p for p in _pending(vectors)}
    _Store(vectors).put(
        MODEL, [(msgs["kept text"], [1.0, 0.0]), (msgs["trashed text"], [1.0, 0.1])]
    )
    assert len(vectors.query(MODEL, [1.0, 0.0])) == 2

    history.delete_conversation(gone)
    assert [h.conversation_id for h in vectors.query(MODEL, [1.0, 0.0])] == [keep]

    history.delete_message(msgs["kept text"].message_id)
    assert vectors.prune() == 1
    assert vectors.query(MODEL, [1.0, 0.0]) == []


def test_vectors_of_another_dimension_are_ignored(
    history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "x")
    (msg,) = _pending(vectors)
    _Store(vectors).put(MODEL, [(msg, [1.0, 0.0, 0.0])])
    assert vectors.query(MODEL, [1.0, 0.0]) == []
    assert len(vectors.query(MODEL, [1.0, 0.0, 0.0])) == 1


def test_models_are_kept_apart_and_clear_forgets_one(
    history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "x")
    (msg,) = _pending(vectors)
    _Store(vectors).put(MODEL, [(msg, [1.0])])
    _Store(vectors).put("other", [(msg, [1.0])])
    assert vectors.count_indexed(MODEL) == 1
    assert vectors.count_indexed("other") == 1
    vectors.clear("other")
    assert vectors.count_indexed("other") == 0
    assert vectors.count_indexed(MODEL) == 1


def test_a_new_dimension_starts_the_model_afresh(
    history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "x", "y")
    x, y = _pending(vectors)
    _Store(vectors).put(MODEL, [(x, [1.0, 0.0])])
    _Store(vectors).put(MODEL, [(y, [1.0, 0.0, 0.0])])
    assert vectors.count_indexed(MODEL) == 1
    assert [p.text for p in _pending(vectors)] == ["x"]


def test_vectors_live_in_their_own_files_and_tables_without_touching_the_schema(
    history: HistoryStore, vectors: VectorStore, db_path: Path
) -> None:
    add_conversation(history, "x")
    (msg,) = _pending(vectors)
    _Store(vectors).put(MODEL, [(msg, [3.0, 4.0])])
    conn = sqlite3.connect(db_path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        row = conn.execute("SELECT model, dim FROM vector_models").fetchone()
    finally:
        conn.close()
    with HistoryStore(db_path):
        pass  # the history still opens (no migration tripped by the extra tables)
    from lmtui.store.history_schema import CURRENT_VERSION

    assert version == CURRENT_VERSION
    assert row == (MODEL, 2)
    files = sorted(vectors.directory.iterdir())
    assert [f.suffix for f in files] == [".i8", ".scale"]
    assert files[0].stat().st_size == 2  # one row of two signed bytes
    assert list(files[0].read_bytes()) == [95, 127]  # 0.6 and 0.8, scaled by 127 / 0.8
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(vectors.directory.stat().st_mode) == 0o700


def test_a_hit_names_its_chunk_and_a_reindexed_message_replaces_its_rows(
    history: HistoryStore, vectors: VectorStore
) -> None:
    text = "alpha part. beta part. gamma part."
    cid = add_conversation(history, text)
    (msg,) = _pending(vectors)
    spans = [(0, 12), (12, 23), (23, len(text))]
    axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    chunks = [
        ChunkVector(i, 3, a, b, v) for i, ((a, b), v) in enumerate(zip(spans, axes, strict=True))
    ]
    vectors.put(MODEL, [(msg, chunks)])

    (hit,) = vectors.query(MODEL, [0.0, 1.0, 0.1])
    assert (hit.conversation_id, hit.chunk, hit.chunks, hit.content) == (cid, 1, 3, "beta part. ")
    assert vectors.count_indexed(MODEL) == 1
    assert vectors.count_rows(MODEL) == (3, 3)

    vectors.put(MODEL, [(msg, [ChunkVector(0, 1, 0, len(text), [0.0, 1.0, 0.0])])])
    assert vectors.count_rows(MODEL) == (1, 4)  # three dead rows wait for compaction
    (hit,) = vectors.query(MODEL, [0.0, 1.0, 0.1])
    assert (hit.chunk, hit.chunks, hit.content) == (0, 1, text)


def test_compaction_drops_dead_rows_and_keeps_the_ranking(
    history: HistoryStore, vectors: VectorStore
) -> None:
    ids = [add_conversation(history, f"message {i}") for i in range(6)]
    msgs = _pending(vectors)
    axis = [[1.0 if j == i else 0.0 for j in range(6)] for i in range(6)]
    _Store(vectors).put(MODEL, list(zip(msgs, axis, strict=True)))
    for gone in ids[:4]:
        history.delete_conversation(gone)
    history.purge_deleted()
    vectors.prune()
    assert vectors.count_rows(MODEL) == (2, 6)
    assert vectors.compact(MODEL) is False  # too few dead rows to bother
    assert vectors.compact(MODEL, force=True) is True
    assert vectors.count_rows(MODEL) == (2, 2)
    assert [h.conversation_id for h in vectors.query(MODEL, axis[5])] == [ids[5], ids[4]]
    assert [h.conversation_id for h in vectors.query(MODEL, axis[4])] == [ids[4], ids[5]]


def test_rows_of_a_writer_that_died_before_its_commit_are_never_returned(
    history: HistoryStore, vectors: VectorStore
) -> None:
    add_conversation(history, "a")
    add_conversation(history, "b")
    a, b = _pending(vectors)
    _Store(vectors).put(MODEL, [(a, [1.0, 0.0])])
    vec_file = next(vectors.directory.glob("*.i8"))
    with vec_file.open("ab") as fh:
        fh.write(b"\x7f\x00\x7f")  # an orphan row and a torn one, no table entry
    assert [h.content for h in vectors.query(MODEL, [0.0, 1.0])] == ["a"]
    _Store(vectors).put(MODEL, [(b, [0.0, 1.0])])
    assert [h.content for h in vectors.query(MODEL, [0.0, 1.0])] == ["b", "a"]


def test_a_new_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "history.sqlite3"
    with VectorStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


_COMPONENT = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))


@given(st.lists(st.lists(_COMPONENT, min_size=8, max_size=8), min_size=1, max_size=6))
def test_quantised_rows_keep_cosine_within_a_percent(values: list[list[float]]) -> None:
    unit = unit_rows(values)
    rows, scales = quantise(unit)
    restored = rows.astype("float32") / scales[:, None]
    for row, value in zip(unit, values, strict=True):
        length = float((row * row).sum()) ** 0.5
        assert length == pytest.approx(1.0 if any(value) else 0.0, abs=1e-3)
    for i in range(len(values)):
        exact = float(unit[i] @ unit[0])
        assert float(restored[i] @ unit[0]) == pytest.approx(exact, abs=0.02)


def test_a_scan_in_many_blocks_ranks_as_one_block(
    history: HistoryStore, vectors: VectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_conversation(history, f"message {i}") for i in range(5)]
    msgs = _pending(vectors)
    _Store(vectors).put(MODEL, [(m, [float(i), 1.0]) for i, m in enumerate(msgs)])
    whole = [(h.conversation_id, h.score) for h in vectors.query(MODEL, [1.0, 0.2])]
    monkeypatch.setattr("lmtui.store.vectors.BLOCK_ROWS", 2)  # 2 + 2 + 1 rows
    assert [(h.conversation_id, h.score) for h in vectors.query(MODEL, [1.0, 0.2])] == whole
    assert [cid for cid, _ in whole] == ids[::-1]
