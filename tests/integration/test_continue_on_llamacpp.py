"""Continue after a ``length`` cut extends the same reply on the real llama.cpp server.

The partial reply goes last as the assistant's own text; llama.cpp prefills it and
goes on from its last token, so with greedy decoding the cut-and-continued reply
reads as the uncut one, not a restarted sentence.
"""

from __future__ import annotations

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import FinishReason, SamplingParams
from lmtui.services.chat import ChatSession
from lmtui.services.local_server import LocalServer

PROMPT = "Write a long story about a lighthouse keeper and the sea, in many words."
GREEDY = SamplingParams(temperature=0.0, seed=7)


async def _reply(session: ChatSession, events: object) -> str:
    async for _ in events:  # type: ignore[attr-defined]
        pass
    return session.entries[-1].content


@pytest.mark.real_server
async def test_continue_extends_the_cut_reply(real_server: LocalServer) -> None:
    async with LMStudioClient(real_server.base_url) as client:
        whole = ChatSession(
            client, model=real_server.model_id, params=GREEDY.merged(SamplingParams(max_tokens=40))
        )
        uncut = await _reply(whole, whole.send(PROMPT))

        session = ChatSession(
            client, model=real_server.model_id, params=GREEDY.merged(SamplingParams(max_tokens=16))
        )
        partial = await _reply(session, session.send(PROMPT))
        assert session.entries[-1].finish_reason is FinishReason.LENGTH
        continued = await _reply(session, session.continue_reply())
        sent = session.entries[-1].request_json
    assert sent is not None
    assert sent["messages"][-1] == {"role": "assistant", "content": partial}
    assert len(session.entries) == 2 and session.entries[-1].note == ""
    assert continued.startswith(partial) and len(continued) > len(partial)
    # One reply, not a restarted one: the cut and continued text is the uncut reply's start.
    common = min(len(continued), len(uncut)) - 8
    assert common > len(partial)
    assert continued[:common] == uncut[:common], (partial, continued, uncut)
