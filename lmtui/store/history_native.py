"""What a reply keeps beyond its text: tool calls and LM Studio's /api/v1/chat facts.

SQL helpers used by :mod:`lmtui.store.history` inside its transactions; the schema is
migration 4 of :mod:`lmtui.store.history_schema`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmtui.backend.types import ToolCall  # imported when first needed: a lean search

# The message columns added by migration 4, in the order ``ReplyFacts`` holds them.
FACT_COLUMNS = ("response_id", "response_server", "route", "load_seconds", "prompt_seconds")


@dataclass(frozen=True, slots=True)
class ReplyFacts:
    """A reply's tool calls and transport facts.

    ``response_id``/``response_server``: the id LM Studio keeps the reply under and the
    server that issued it (a chain only continues on that server). ``route``: which
    transport carried it and why. Durations in seconds, None when nothing was measured.
    """

    response_id: str | None = None
    response_server: str | None = None
    route: str | None = None
    load_seconds: float | None = None
    prompt_seconds: float | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    def column_values(self) -> tuple[str | float | None, ...]:
        """The values of :data:`FACT_COLUMNS`, in order."""
        return (
            self.response_id,
            self.response_server,
            self.route,
            self.load_seconds,
            self.prompt_seconds,
        )


def replace_tool_calls(
    conn: sqlite3.Connection, message_id: int, calls: Sequence[ToolCall]
) -> None:
    """Make ``calls`` the tool calls of a message (inside the caller's transaction)."""
    conn.execute("DELETE FROM tool_calls WHERE message_id = ?", (message_id,))
    insert_tool_calls(conn, [(message_id, calls)])


def insert_tool_calls(
    conn: sqlite3.Connection, rows: Iterable[tuple[int, Sequence[ToolCall]]]
) -> None:
    """Insert tool calls for messages that have none yet."""
    conn.executemany(
        "INSERT INTO tool_calls (message_id, seq, call_id, name, arguments, provider, output, "
        "failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (mid, seq, c.id, c.name, c.arguments, c.provider, c.output, c.failure)
            for mid, calls in rows
            for seq, c in enumerate(calls, 1)
        ],
    )


def tool_calls_of(
    conn: sqlite3.Connection, conversation_id: int
) -> dict[int, tuple[ToolCall, ...]]:
    """Every tool call of a conversation's messages, by message id, in call order."""
    from lmtui.backend.types import ToolCall

    out: dict[int, list[ToolCall]] = {}
    for mid, cid, name, args, provider, output, failure in conn.execute(
        "SELECT t.message_id, t.call_id, t.name, t.arguments, t.provider, t.output, t.failure "
        "FROM tool_calls t JOIN messages m ON m.id = t.message_id "
        "WHERE m.conversation_id = ? ORDER BY t.message_id, t.seq",
        (conversation_id,),
    ):
        out.setdefault(mid, []).append(ToolCall(cid, name, args, provider, output, failure))
    return {mid: tuple(calls) for mid, calls in out.items()}


def tool_call_snippet(
    conn: sqlite3.Connection, match: str, rowid: int, start: str, end: str
) -> str:
    """The matching part of one tool call, prefixed with the tool's name."""
    row = conn.execute(
        "SELECT t.name, snippet(tool_calls_fts, -1, ?, ?, '…', 16) FROM tool_calls_fts f "
        "JOIN tool_calls t ON t.id = f.rowid WHERE tool_calls_fts MATCH ? AND f.rowid = ?",
        (start, end, match, rowid),
    ).fetchone()
    if row is None:
        return ""
    return f"[tool {row[0]}] " + " ".join(str(row[1]).split())
