"""Small builders shared by the workbench tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from lmtui.store.history import HistoryStore
from lmtui.ui.workbench import OpenConversation

EMBEDDER = "text-embedding-nomic-embed-text-v1.5"
CHAT_MODEL = "qwen2.5-7b-instruct"


def add_conversation(history: HistoryStore, *texts: str, title: str | None = None) -> int:
    """A conversation whose messages alternate user / assistant; return its id."""
    cid = history.create_conversation(title or history.auto_title(texts[0]))
    for i, text in enumerate(texts):
        history.add_message(cid, "user" if i % 2 == 0 else "assistant", text)
    return cid


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], steps: int = 1000) -> None:
    """Let the app run until ``condition()`` holds (bounded by steps, not by a clock)."""
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.01)
    assert condition(), "the screen never reached the expected state"


class Host(App[None]):
    """A bare app that opens one workbench screen and records what it posts."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.opened: list[int] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def on_open_conversation(self, message: OpenConversation) -> None:
        self.opened.append(message.conversation_id)
