"""The records history stores and exports: a message, a conversation, a search hit.

In a module of their own so the store (:mod:`lmtui.store.history`) and the export
formats (:mod:`lmtui.store.history_export`) both import them without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmtui.store.history_native import ReplyFacts

if TYPE_CHECKING:
    from lmtui.backend.types import ToolCall


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One stored message."""

    id: int
    conversation_id: int
    role: str
    content: str
    reasoning: str
    attachments: tuple[str, ...]
    model_requested: str | None
    model_used: str | None
    preset: str | None
    params: dict[str, Any]
    finish_reason: str | None
    usage: dict[str, Any] | None
    timings: dict[str, Any] | None
    server: str | None
    created: float
    state: str
    error: str | None
    seq: int = 0
    # Schema 4: LM Studio's /api/v1/chat facts and the reply's tool calls.
    response_id: str | None = None
    response_server: str | None = None
    route: str | None = None
    load_seconds: float | None = None
    prompt_seconds: float | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def facts(self) -> ReplyFacts:
        """The reply's tool calls and transport facts as one value."""
        return ReplyFacts(
            self.response_id,
            self.response_server,
            self.route,
            self.load_seconds,
            self.prompt_seconds,
            self.tool_calls,
        )


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation without its messages."""

    id: int
    title: str
    created: float
    updated: float
    model: str | None
    preset: str | None
    server: str | None
    message_count: int
    deleted: float | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A conversation matching a search, with its best-matching text highlighted."""

    conversation_id: int
    title: str
    snippet: str
    rank: float
    updated: float
