"""Deltas of one read joined into one event (backend/delta_merge.py)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from lmtui.backend.delta_merge import merge_deltas
from lmtui.backend.types import ContentDelta, ModelUsed, ReasoningDelta, StreamEvent

EVENTS = st.lists(
    st.one_of(
        st.builds(ContentDelta, st.text(max_size=5)),
        st.builds(ReasoningDelta, st.text(max_size=5)),
        st.builds(ModelUsed, st.sampled_from(["a", "b"])),
    ),
    max_size=30,
)


def _kinds(events: list[StreamEvent]) -> list[object]:
    """The events with each run of same-kind deltas folded to (kind, text, pieces)."""
    out: list[object] = []
    for event in events:
        if isinstance(event, ContentDelta | ReasoningDelta):
            if out and isinstance(out[-1], tuple) and out[-1][0] is type(event):
                kind, text, pieces = out[-1]
                out[-1] = (kind, text + event.text, pieces + event.pieces)
            else:
                out.append((type(event), event.text, event.pieces))
        else:
            out.append(event)
    return out


@given(EVENTS)
def test_merging_keeps_every_piece_in_order_and_joins_only_neighbours_of_a_kind(
    events: list[StreamEvent],
) -> None:
    merged = merge_deltas(events)
    assert _kinds(merged) == _kinds(events)
    for before, after in pairwise(merged):
        assert not (
            type(before) is type(after) and isinstance(after, ContentDelta | ReasoningDelta)
        )
    assert sum(getattr(e, "pieces", 0) for e in merged) == sum(
        getattr(e, "pieces", 0) for e in events
    )


def test_a_burst_of_answer_pieces_becomes_one_event_counting_them() -> None:
    burst: list[StreamEvent] = [ContentDelta("a"), ContentDelta("b"), ContentDelta("c")]
    assert merge_deltas(burst) == [ContentDelta("abc", 3)]
    mixed: list[StreamEvent] = [ReasoningDelta("r"), ContentDelta("a"), ContentDelta("b")]
    assert merge_deltas(mixed) == [ReasoningDelta("r"), ContentDelta("ab", 2)]
