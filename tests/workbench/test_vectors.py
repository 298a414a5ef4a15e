"""The message_vectors table: storage, staleness, ranking, and leaving the history alone."""

from __future__ import annotations

import math
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmtui.store.history import HistoryStore
from lmtui.store.vectors import PendingMessage, VectorStore, dot, normalise
from tests.workbench.helpers import add_conversation

MODEL = "embedder"


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

    vectors.put(MODEL, [(pending[0], [1.0, 0.0]), (pending[2], [0.0, 2.0])])

    assert [p.text for p in _pending(vectors)] == ["first answer"]
    assert vectors.count_indexed(MODEL) == 2
    # Another model has indexed nothing.
    assert vectors.count_pending("other-model") == 3


def test_edited_message_is_embedded_again(history: HistoryStore, vectors: VectorStore) -> None:
    cid = add_conversation(history, "about cats")
    (msg,) = _pending(vectors)
    vectors.put(MODEL, [(msg, [1.0, 0.0])])
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
    vectors.put(
        MODEL,
        [
            (msgs["north"], [0.0, 3.0]),
            (msgs["north-east"], [1.0, 1.0]),
            (msgs["east"], [5.0, 0.0]),
        ],
    )

    hits = vectors.query(MODEL, [0.1, 1.0])

    assert [(h.conversation_id, h.content) for h in hits] == [(a, "north"), (b, "east")]
    assert hits[0].score == pytest.approx(1.0 / math.sqrt(1.01), rel=1e-6)
    assert hits[0].score > hits[1].score
    two = vectors.query(MODEL, [0.1, 1.0], per_conversation=2)
    assert [h.content for h in two] == ["north", "north-east", "east"]


def test_deleted_conversations_and_messages_drop_out(
    history: HistoryStore, vectors: VectorStore
) -> None:
    keep = add_conversation(history, "kept text")
    gone = add_conversation(history, "trashed text")
    msgs = {p.text: p for p in _pending(vectors)}
    vectors.put(MODEL, [(msgs["kept text"], [1.0, 0.0]), (msgs["trashed text"], [1.0, 0.1])])
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
    vectors.put(MODEL, [(msg, [1.0, 0.0, 0.0])])
    assert vectors.query(MODEL, [1.0, 0.0]) == []
    assert len(vectors.query(MODEL, [1.0, 0.0, 0.0])) == 1


def test_clear_forgets_one_model(history: HistoryStore, vectors: VectorStore) -> None:
    add_conversation(history, "x")
    (msg,) = _pending(vectors)
    vectors.put(MODEL, [(msg, [1.0])])
    vectors.put("other", [(msg, [1.0])])  # one vector per message: the last model wins
    assert vectors.count_indexed(MODEL) == 0
    assert vectors.count_indexed("other") == 1
    vectors.clear("other")
    assert vectors.count_indexed("other") == 0


def test_table_lives_in_the_history_file_without_touching_its_schema(
    history: HistoryStore, vectors: VectorStore, db_path: Path
) -> None:
    add_conversation(history, "x")
    (msg,) = _pending(vectors)
    vectors.put(MODEL, [(msg, [3.0, 4.0])])
    conn = sqlite3.connect(db_path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        row = conn.execute("SELECT model, dim, vector FROM message_vectors").fetchone()
    finally:
        conn.close()
    with HistoryStore(db_path):
        pass  # the history still opens (no migration tripped by the extra table)
    from lmtui.store.history_schema import CURRENT_VERSION

    assert version == CURRENT_VERSION
    assert row[0] == MODEL and row[1] == 2
    assert list(normalise([3.0, 4.0])) == pytest.approx([0.6, 0.8])
    assert len(row[2]) == 2 * 4  # two 32-bit floats
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_a_new_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "history.sqlite3"
    with VectorStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


_COMPONENT = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))


@given(st.lists(_COMPONENT, min_size=1, max_size=16))
def test_normalised_vectors_have_unit_length_or_are_zero(values: list[float]) -> None:
    unit = normalise(values)
    length = math.sqrt(dot(unit, unit))
    if any(values):
        assert length == pytest.approx(1.0, abs=1e-3)
    else:
        assert length == pytest.approx(0.0, abs=1e-3)
