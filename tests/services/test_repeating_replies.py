"""A looping reply is flagged while it streams, and stopped when the config says so."""

from __future__ import annotations

from lmtui.backend.client import LMStudioClient
from lmtui.services.chat import REPEATING_STOPPED, STOPPED, ChatSession
from lmtui.services.inspector import RequestLog
from tests.fake_server import FakeServer, Reply

LOOP = ["I am so excited ", "to celebrate with ", "you all at the wedding. "] * 60


async def _run(fake_server: FakeServer, *, stop: bool) -> tuple[ChatSession, RequestLog]:
    # At a model's pace (each read one delta): the async client joins the deltas of one
    # read, so a reply sent all at once would be whole before anything could stop it.
    fake_server.enqueue(Reply(deltas=["Dear friends, ", *LOOP], delta_delay=0.002))
    log = RequestLog()
    async with LMStudioClient(fake_server.base_url, on_exchange=log.record) as client:
        session = ChatSession(client, model="test-model")
        session.stop_repeating = stop
        async for _ in session.send("Write an invitation"):
            pass
    return session, log


async def test_a_looping_reply_is_flagged_and_runs_on(fake_server: FakeServer) -> None:
    session, _ = await _run(fake_server, stop=False)
    reply = session.entries[-1]
    assert reply.repetition is not None and "wedding" in reply.repetition.unit * 2
    assert reply.content == "Dear friends, " + "".join(LOOP)  # flagged only
    assert reply.finish_reason is not None and reply.finish_reason.value == "stop"


async def test_a_looping_reply_stops_itself_when_configured(fake_server: FakeServer) -> None:
    session, log = await _run(fake_server, stop=True)
    reply = session.entries[-1]
    assert reply.state == STOPPED and reply.note == REPEATING_STOPPED
    assert reply.repetition is not None
    assert 200 <= len(reply.content) < len("".join(LOOP)) // 2  # stopped soon after it began
    (ex,) = log.last(1)
    assert ex.finish_reason == "stopped"  # the request was closed, and listed


async def test_a_plain_reply_is_not_flagged(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(content="Thank you for coming. " + "We had a lovely day. " * 2))
    async with LMStudioClient(fake_server.base_url) as client:
        session = ChatSession(client, model="test-model")
        async for _ in session.send("hi"):
            pass
    assert session.entries[-1].repetition is None
