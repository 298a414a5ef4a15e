"""Deltas that arrived in one read, passed on as one event.

A fast server's burst, or a reader catching up after a busy moment, brings many SSE
events in one read of the socket. Every layer above the client (the route, the load
wait, the session, the reply's widget) costs about a microsecond per event it passes
on: for a 4,000-delta burst that was more than the reading itself. Adjacent pieces of
the answer, and adjacent pieces of the reasoning, are joined; ``pieces`` keeps how many
deltas each event stands for, so live speed figures still count the server's deltas.
At a real model's pace each read holds one delta, and nothing changes.
"""

from __future__ import annotations

from lmtui.backend.types import ContentDelta, ReasoningDelta, StreamEvent


def merge_deltas(events: list[StreamEvent]) -> list[StreamEvent]:
    """``events`` with each run of adjacent same-kind deltas joined into one.

    Args:
        events: the typed events of one read, in order.

    Returns:
        The same events, in the same order, with every run of two or more
        :class:`ContentDelta` (or :class:`ReasoningDelta`) replaced by one holding
        their text and the sum of their ``pieces``; ``events`` itself when nothing joins.
    """
    if len(events) < 2:
        return events
    out: list[StreamEvent] = []
    run: list[ContentDelta | ReasoningDelta] = []
    for event in events:
        if isinstance(event, ContentDelta | ReasoningDelta):
            if run and type(event) is not type(run[0]):
                out.append(_joined(run))
                run = []
            run.append(event)
            continue
        if run:
            out.append(_joined(run))
            run = []
        out.append(event)
    if run:
        out.append(_joined(run))
    return out


def _joined(run: list[ContentDelta | ReasoningDelta]) -> StreamEvent:
    """One delta of the run's kind holding all of it."""
    if len(run) == 1:
        return run[0]
    text = "".join(delta.text for delta in run)
    pieces = sum(delta.pieces for delta in run)
    if isinstance(run[0], ContentDelta):
        return ContentDelta(text, pieces)
    return ReasoningDelta(text, pieces)
