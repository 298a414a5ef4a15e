"""A conversation titled from its first prompt follows that prompt when it is edited."""

from __future__ import annotations

from pathlib import Path

from lmtui.backend.client import LMStudioClient
from lmtui.services.chat import ChatSession
from lmtui.store.history import HistoryStore
from tests.fake_server import FakeServer, Reply


async def _drain(reply: object) -> None:
    async for _ in reply:  # type: ignore[attr-defined]
        pass


async def test_editing_the_first_prompt_retitles_unless_renamed(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    for _ in range(4):
        fake_server.enqueue(Reply(content="ok"))
    async with LMStudioClient(fake_server.base_url) as client:
        session = ChatSession(client, model="test-model", history=store)
        await _drain(session.send("Plan a wedding^"))
        cid = session.conversation_id
        assert cid is not None
        await _drain(session.edit_and_resend(0, "Plan a birthday party"))
        assert store.get_conversation(cid)[0].title == "Plan a birthday party"
        assert session.title == "Plan a birthday party"

        store.rename(cid, "My party")
        await _drain(session.edit_and_resend(0, "Plan a picnic"))
        assert store.get_conversation(cid)[0].title == "My party"
    store.close()
