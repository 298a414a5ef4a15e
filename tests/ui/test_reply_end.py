"""The end of a fast reply is painted before anything else is drawn (issue 19, TUI ÷ wire).

A reply that streamed faster than the frames scrolls past chunks never drawn; they are
drawn after its end for the reply's exact height (``MarkdownBody.settle``). That work
must wait until the end itself — the last text and the footer — is on screen: before,
the first paint after the end waited for several of those chunks (50–100 ms). That first
paint shows the reply at its own height, so what settle() changes later is above the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen

from lmtui.services.chat import EntryState
from lmtui.ui.app import LmtuiApp
from lmtui.ui.markdown_body import MarkdownBody
from lmtui.ui.message import MessageWidget
from tests.fake_server import FakeServer, Reply, markdown_deltas
from tests.ui.conftest import send, wait_idle


def _note_settle_draws(
    monkeypatch: pytest.MonkeyPatch, events: list[str], on_first: Callable[[], object] = list
) -> None:
    """Append "settle draws" to ``events`` for each chunk settle() draws.

    ``on_first`` runs right after the first one. settle() asks once more when all are
    drawn: that draws nothing, and is not noted.
    """
    real_next = MarkdownBody.render_next

    def render_next(self: MarkdownBody, relayout: bool = True, start: int = 0) -> bool:
        drew = real_next(self, relayout, start)
        if drew and self._settling:
            events.append("settle draws")
            if events.count("settle draws") == 1:
                on_first()
        return drew

    monkeypatch.setattr(MarkdownBody, "render_next", render_next)


async def test_the_end_of_a_fast_reply_is_painted_before_unseen_chunks_are_drawn(
    fake: FakeServer, make_app: Callable[..., LmtuiApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.enqueue(Reply(deltas=markdown_deltas(10000)))  # 40 kB, as fast as it is read
    order: list[str] = []
    app = make_app()

    def reply_state() -> EntryState | None:
        widgets = list(app.chat_screen.query(MessageWidget))
        return widgets[-1].entry.state if len(widgets) >= 2 else None

    real_paint = Screen._compositor_refresh
    real_finish = MarkdownBody.finish
    finished: list[MarkdownBody] = []  # the reply's widget, once told its text is all there

    def finish(self: MarkdownBody) -> bool:
        finished.append(self)
        return real_finish(self)

    steps: list[int] = []  # the reply's height step at each paint after its end

    def paint(self: Screen[Any]) -> None:
        # A frame still drawing when the reply ends is painted as it was; what counts is
        # the paint after the reply's widget was given its end.
        if reply_state() is EntryState.COMPLETE and finished:
            order.append("paint after the end")
            body = list(app.chat_screen.query(MessageWidget))[-1].query_one(MarkdownBody)
            steps.append(body.step)
        real_paint(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", paint)
    _note_settle_draws(monkeypatch, order)
    monkeypatch.setattr(MarkdownBody, "finish", finish)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
        await pilot.pause(0.2)
        body = list(app.chat_screen.query(MessageWidget))[-1].query_one(MarkdownBody)
        assert "settle draws" in order, "the reply left no chunk unseen: make it longer"
        assert order.index("paint after the end") < order.index("settle draws"), order[:8]
        assert not body.undrawn  # and settle still drew them all
        # Painted at its own height (no blank band of a streaming step under the text),
        # so the chunks settle() draws later change only rows above the view.
        assert steps[0] == 1


async def test_a_paint_asked_for_while_settle_draws_comes_before_its_next_chunk(
    fake: FakeServer, make_app: Callable[..., LmtuiApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key typed just after a huge reply is painted before settle() draws on.

    settle() drew its chunks (~10 ms each for 2 kB) a 1 ms pause apart: the key was
    handled in a pause, but its paint (Textual's update timer, 1/120 s) came only after
    the next chunk, or two. Keys just after a 5 MB reply waited up to ~75 ms.
    """
    fake.enqueue(Reply(deltas=markdown_deltas(10000)))  # 40 kB: chunks left to settle
    order: list[str] = []
    app = make_app()
    real_paint = Screen._compositor_refresh

    def paint(self: Screen[Any]) -> None:
        order.append("paint")
        real_paint(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", paint)
    # After the first chunk, a refresh as a key typed now would ask for.
    _note_settle_draws(monkeypatch, order, lambda: app.chat_screen.composer.refresh())
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
        await pilot.pause(0.2)
    draws = [i for i, what in enumerate(order) if what == "settle draws"]
    assert len(draws) >= 2, "the reply left too few chunks to settle: make it longer"
    assert "paint" in order[draws[0] : draws[1]], order[draws[0] : draws[1] + 1]


async def test_no_paint_shows_the_finished_footer_before_the_reply_s_last_text(
    fake: FakeServer, make_app: Callable[..., LmtuiApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footer says the reply ended only in a paint that also shows its end.

    The footer was updated first, then the last frame drew its chunks a turn apart: a
    paint in between showed "finish: stop" under text that was still being drawn (seen
    in tmux for 15-30 ms at the end of every fast reply).
    """
    fake.enqueue(Reply(deltas=markdown_deltas(10000, numbered=True)))
    app = make_app()
    early: list[int] = []  # characters missing from the body in a paint with the footer
    real_paint = Screen._compositor_refresh

    def paint(self: Screen[Any]) -> None:
        widgets = list(app.chat_screen.query(MessageWidget))
        if len(widgets) >= 2:
            reply = widgets[-1]
            footer = str(reply.query_one(".meta").render())
            body = reply.query_one(MarkdownBody)
            if "finish:" in footer and body.text != reply.entry.content:  # text: what is shown
                early.append(len(reply.entry.content) - len(body.text))
        real_paint(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", paint)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
        await pilot.pause(0.1)
    assert early == []


async def test_settle_draws_the_unseen_chunks_without_a_layout_each(
    fake: FakeServer, make_app: Callable[..., LmtuiApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While settle() draws, the reply keeps the height its end was painted at.

    Each chunk drawn changed the reply's height, and a layout that sees a new height
    lays out again: a 10-20 ms layout followed every chunk, and keys typed just after a
    huge reply waited behind them. The rows are counted from the bottom meanwhile, so
    what is on screen does not move; the height is laid out once, at the end.
    """
    fake.enqueue(Reply(deltas=markdown_deltas(10000, numbered=True)))
    events: list[str] = []
    app = make_app()
    real_layout = Screen._refresh_layout

    def layout(self: Screen[Any], *args: Any, **kwargs: Any) -> None:
        events.append("layout")
        real_layout(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", layout)
    _note_settle_draws(monkeypatch, events)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "go")
        await wait_idle(pilot)
        await pilot.pause(0.3)
        body = list(app.chat_screen.query(MessageWidget))[-1].query_one(MarkdownBody)
        assert not body.undrawn
    draws = [i for i, what in enumerate(events) if what == "settle draws"]
    assert len(draws) >= 20, "the reply left too few chunks to settle: make it longer"
    between = events[draws[0] : draws[-1]]
    # A few come from the rest of the screen at a reply's end (the keys in the footer,
    # the status line); one per chunk drawn (34 here) was the reply's own.
    assert between.count("layout") <= 3, between.count("layout")
