"""The one fold and the shared endings of a reply: chat entries and workbench results alike."""

from __future__ import annotations

import pytest

from lmtui.backend.types import (
    ChatResult,
    ClientTimings,
    ContentDelta,
    Finish,
    FinishReason,
    ModelUsed,
    ReasoningDelta,
)
from lmtui.services.chat import Entry, EntryState
from lmtui.services.live_stats import LiveStats

TIMINGS = ClientTimings(0.1, 1.0, 3, 3.0)


@pytest.mark.parametrize("make", [ChatResult, lambda: Entry("assistant", "")])
def test_one_fold_for_every_reply(make: object) -> None:
    reply = make()  # type: ignore[operator]
    for event in (
        ContentDelta("Hel"),
        ReasoningDelta("think"),
        ContentDelta("lo"),
        ModelUsed("m"),
        Finish(FinishReason.LENGTH, TIMINGS, detail="cut"),
    ):
        reply.apply(event)
    assert (reply.content, reasoning := reply.reasoning) == ("Hello", "think"), reasoning
    assert reply.model_used == "m"
    assert reply.finish_reason is FinishReason.LENGTH
    assert reply.client_timings == TIMINGS and reply.detail == "cut"


def test_entry_state_follows_its_ending() -> None:
    done = Entry("assistant", "", state=EntryState.STREAMING)
    done.apply(Finish(FinishReason.STOP, TIMINGS))
    assert done.state is EntryState.COMPLETE
    cut = Entry("assistant", "", state=EntryState.STREAMING)
    cut.apply(Finish(FinishReason.INTERRUPTED, TIMINGS))
    assert cut.state is EntryState.INTERRUPTED
    failed_early = Entry("assistant", "", state=EntryState.STREAMING)
    failed_early.fail("boom")
    assert (failed_early.state, failed_early.finish_reason) == (
        EntryState.ERROR,
        FinishReason.ERROR,
    )
    failed_late = Entry("assistant", "some text", state=EntryState.STREAMING)
    failed_late.fail("boom")
    assert failed_late.state is EntryState.INTERRUPTED and failed_late.error == "boom"
    stopped = Entry("assistant", "part", state=EntryState.STREAMING)
    stopped.stop()
    assert (stopped.state, stopped.finish_reason) == (EntryState.STOPPED, FinishReason.STOPPED)


def test_a_completion_ends_by_the_same_rules() -> None:
    failed = ChatResult()
    failed.fail("server said no")
    assert (failed.finish_reason, failed.error) == (FinishReason.ERROR, "server said no")
    kept = ChatResult(finish_reason=FinishReason.LENGTH)
    kept.fail("continuation failed")
    assert kept.finish_reason is FinishReason.LENGTH
    stopped = ChatResult(content="part")
    stopped.stop()
    assert stopped.finish_reason is FinishReason.STOPPED and stopped.content == "part"


def test_stored_states_parse_to_the_enum() -> None:
    assert EntryState.parse("complete") is EntryState.COMPLETE
    assert EntryState.parse("streaming") is EntryState.STREAMING
    assert EntryState.parse("nonsense") is EntryState.INTERRUPTED
    assert EntryState.STOPPED == "stopped"  # stored and exported as its plain value


def test_live_stats_wait_then_speed() -> None:
    now = [10.0]
    stats = LiveStats(clock=lambda: now[0])
    now[0] = 11.5
    assert stats.text() == "waiting 1.5 s"
    stats.delta()
    assert stats.text() == ""  # no time since the first piece
    for _ in range(9):
        stats.delta()
    now[0] = 13.5
    assert stats.text() == "5.0 tok/s"


def test_live_stats_count_the_deltas_a_joined_event_stands_for() -> None:
    now = [0.0]
    stats = LiveStats(clock=lambda: now[0])
    stats.delta()
    stats.delta(9)  # nine deltas that came in one read (backend/delta_merge.py)
    now[0] = 2.0
    assert stats.text() == "5.0 tok/s"
