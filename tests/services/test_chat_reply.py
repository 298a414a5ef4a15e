"""``ChatSession`` returns a ``Reply`` at once: its entry is shown before any event comes."""

from __future__ import annotations

import asyncio

from lmtui.backend.types import ContentDelta, FinishReason
from lmtui.services.chat import ChatSession, EntryState, Reply
from lmtui.services.clients import client_for
from lmtui.store.config import Config
from tests.fake_server import FakeServer
from tests.fake_server import Reply as FakeReply

MODEL = "qwen2.5-7b-instruct"


async def test_send_shows_the_reply_entry_before_any_event(fake_server: FakeServer) -> None:
    fake_server.enqueue(FakeReply(text="hello there"))
    async with client_for(Config(base_url=fake_server.base_url)) as client:
        session = ChatSession(client, model=MODEL)
        reply = session.send("hi")
        assert isinstance(reply, Reply)
        assert session.entries[-1] is reply.entry
        assert [e.role for e in session.entries] == ["user", "assistant"]
        assert reply.entry.state is EntryState.STREAMING
        assert fake_server.requests_to("/v1/chat/completions") == []  # nothing sent yet
        async for _ in reply:
            pass
    assert reply.entry.content == "hello there"
    assert reply.entry.state is EntryState.COMPLETE


async def test_a_reply_closed_before_it_started_is_stopped(fake_server: FakeServer) -> None:
    async with client_for(Config(base_url=fake_server.base_url)) as client:
        session = ChatSession(client, model=MODEL)
        reply = session.send("hi")
        await reply.aclose()
    assert reply.entry.state is EntryState.STOPPED
    assert reply.entry.finish_reason is FinishReason.STOPPED
    assert fake_server.requests_to("/v1/chat/completions") == []


async def test_regenerate_and_continue_return_their_entry(fake_server: FakeServer) -> None:
    fake_server.enqueue(FakeReply(text="first"))
    fake_server.enqueue(FakeReply(text="second"))
    fake_server.enqueue(FakeReply(text=" and more"))
    async with client_for(Config(base_url=fake_server.base_url)) as client:
        session = ChatSession(client, model=MODEL)
        async for _ in session.send("hi"):
            pass
        again = session.regenerate()
        assert again.entry is session.entries[-1] and len(session.entries) == 2
        async for _ in again:
            pass
        more = session.continue_reply()
        assert more.entry is again.entry  # continued in place
        async for _ in more:
            pass
    assert session.entries[-1].content == "second and more"


async def test_a_started_reply_sends_at_once_and_its_reader_gets_every_event(
    fake_server: FakeServer,
) -> None:
    fake_server.enqueue(FakeReply(text="hello there, friend"))
    async with client_for(Config(base_url=fake_server.base_url)) as client:
        session = ChatSession(client, model=MODEL)
        reply = session.send("hi")
        assert reply.before == ("", "")
        reply.start()
        for _ in range(200):  # the request goes out without anyone reading the reply
            if fake_server.requests_to("/v1/chat/completions"):
                break
            await asyncio.sleep(0.01)
        assert len(fake_server.requests_to("/v1/chat/completions")) == 1
        text = [e.text async for e in reply if isinstance(e, ContentDelta)]
    assert "".join(text) == "hello there, friend" == reply.entry.content
    assert reply.entry.state is EntryState.COMPLETE


async def test_a_started_reply_closed_unread_is_stopped_like_any_other(
    fake_server: FakeServer,
) -> None:
    fake_server.enqueue(FakeReply(text="slow words " * 20, delta_delay=0.05))
    async with client_for(Config(base_url=fake_server.base_url)) as client:
        session = ChatSession(client, model=MODEL)
        reply = session.send("hi")
        reply.start()
        for _ in range(200):
            if fake_server.requests_to("/v1/chat/completions"):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # its first event read, kept for a reader that never came
        await reply.aclose()
    assert reply.entry.state is EntryState.STOPPED
    assert reply.entry.finish_reason is FinishReason.STOPPED
    assert len(fake_server.requests_to("/v1/chat/completions")) == 1
    assert len(reply.entry.content) < len("slow words " * 20)
