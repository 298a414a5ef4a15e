"""SIGTERM and SIGHUP stop the reply before the app quits (in process, under Pilot).

``test_tui_signals.py`` runs the real app in tmux and checks what the user is left with;
here the order is checked: the hangup handler stops the streaming reply and waits for it
to be kept, and only then quits, as the stop and quit keys would.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lmtui.services.chat import EntryState
from lmtui.store.history import HistoryStore
from lmtui.ui import signals
from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_until

AppFactory = Callable[..., LmtuiApp]
# A reply that would stream for minutes: only a stop ends it.
ENDLESS = [f"w{i} " for i in range(20_000)]


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """Put back the test process's SIGTERM and SIGHUP handlers afterwards."""
    previous = {sig: signal.getsignal(sig) for sig in signals.HANGUP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("sig", signals.HANGUP_SIGNALS, ids=lambda s: s.name)
@pytest.mark.usefixtures("own_signal_handlers")
async def test_a_hangup_stops_the_reply_before_quitting(
    fake: FakeServer, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    # The reply must end by being stopped, never by the handler's wait running out.
    monkeypatch.setattr(signals, "STOP_WAIT", 600.0)
    fake.enqueue(Reply(deltas=ENDLESS, delta_delay=0.01))
    app = make_app()
    at_exit: list[tuple[str, bool]] = []
    exit_app = app.exit

    def exit_spy(*args: Any, **kwargs: Any) -> None:
        # What the reply looked like when the app was asked to quit.
        screen = app.chat_screen
        worker = screen._stream_worker
        at_exit.append((screen.session.entries[-1].state, worker is None or worker.is_finished))
        exit_app(*args, **kwargs)

    monkeypatch.setattr(app, "exit", exit_spy)
    async with app.run_test() as pilot:
        signals.stop_on_hangup(app)
        await send(pilot, "hi")
        entries = app.chat_screen.session.entries
        await wait_until(pilot, lambda: len(entries) == 2 and "w5 " in entries[1].content)
        os.kill(os.getpid(), sig)
        await wait_until(pilot, lambda: bool(at_exit), steps=1000)
    assert at_exit[0] == (EntryState.STOPPED, True)
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    assert messages[-1].state == "stopped"
    assert messages[-1].content.startswith("w0 w1 w2 w3 w4 w5 ")
