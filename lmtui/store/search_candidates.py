"""Which matching messages a full-text search ranks: all of them, up to a bound.

Ranking every message a query matches costs time in proportion to the matches: at a
million messages, a common word took 4.7 s and a two-letter prefix typed into the
history browser 40 s (bm25 for each match, then one group per conversation). A search
therefore ranks at most :data:`CANDIDATES` matching messages, the most recently saved
ones (highest row id: FTS5 walks its index in that order and stops at the bound), and
says when there were more, so the user can add a word. A query matching fewer messages
than the bound ranks them all, exactly as before. Measured in benchmarks/README.md,
"History search at a million messages".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from lmtui.store.history_native import tool_call_snippet
from lmtui.store.history_records import SearchHit

#: Matching messages (and, separately, tool calls) a search ranks at most.
CANDIDATES = 5000

#: A conversation a search shows: id, title, updated, rank, and its best message's id
#: (None when the title or a tool call matched best).
Chosen = tuple[int, str, float, float, int | None]


class SearchHits(list[SearchHit]):
    """A search's hits, best first, and whether only the newest matches were ranked."""

    def __init__(self, hits: list[SearchHit] | None = None, *, ranked_newest: int | None = None):
        """Args: the hits; ``ranked_newest``, the bound when more messages matched than it."""
        super().__init__(hits or [])
        #: The number of newest matching messages ranked when more matched; else None.
        self.ranked_newest = ranked_newest


@dataclass
class Candidates:
    """The best match of each conversation among the ranked messages and tool calls."""

    #: Conversation id → (bm25 rank, lower is better; the message's id, or None for a
    #: tool call match).
    scores: dict[int, tuple[float, int | None]] = field(default_factory=dict)
    #: Conversation id → the tool call row whose match is the conversation's best.
    tool_rows: dict[int, int] = field(default_factory=dict)
    #: True when more messages or tool calls matched than were ranked.
    bounded: bool = False


def rank_candidates(conn: sqlite3.Connection, match: str, bound: int = CANDIDATES) -> Candidates:
    """Each conversation's best match among the newest ``bound`` matching messages and tool calls.

    Args:
        conn: an open history connection.
        match: an FTS5 query (see ``history.fts_query``).
        bound: how many matching messages, and tool calls, are ranked at most.

    Returns:
        The conversations' best ranks, and whether the bound cut anything off.
    """
    found = Candidates()
    scores = found.scores
    for mid, rank, cid in _newest(found, conn, _MESSAGES, match, bound):
        best = scores.get(cid)
        if best is None or rank < best[0]:
            scores[cid] = (rank, mid)
    for rowid, rank, cid in _newest(found, conn, _TOOL_CALLS, match, bound):
        # A tool call's arguments or output count like the text of its message.
        best = scores.get(cid)
        if best is None or rank < best[0]:
            scores[cid] = (rank, None)
            found.tool_rows[cid] = rowid
    return found


# (row id, rank, conversation id) of the newest matches, at most one more than the bound.
_MESSAGES = (
    "SELECT f.rowid, f.rank, f.conversation_id FROM messages_fts f "
    "WHERE messages_fts MATCH ? ORDER BY f.rowid DESC LIMIT ?"
)
_TOOL_CALLS = (
    "SELECT f.rowid, f.rank, m.conversation_id FROM tool_calls_fts f "
    "JOIN tool_calls t ON t.id = f.rowid JOIN messages m ON m.id = t.message_id "
    "WHERE tool_calls_fts MATCH ? ORDER BY f.rowid DESC LIMIT ?"
)


def _newest(
    found: Candidates, conn: sqlite3.Connection, sql: str, match: str, bound: int
) -> list[tuple[int, float, int]]:
    """The newest ``bound`` rows ``sql`` finds; ``found.bounded`` set when there were more."""
    rows: list[tuple[int, float, int]] = conn.execute(sql, (match, bound + 1)).fetchall()
    if len(rows) > bound:
        found.bounded = True
        del rows[bound:]
    return rows


def snippets(
    conn: sqlite3.Connection,
    match: str,
    chosen: list[Chosen],
    tool_rows: dict[int, int],
    marks: tuple[str, str],
) -> dict[int, str]:
    """Each chosen conversation's snippet: its best match, the words between ``marks``.

    Args:
        conn: an open history connection.
        match: the search's FTS5 query.
        chosen: the conversations shown (see :data:`Chosen`).
        tool_rows: conversation id → the tool call that matched best, from
            :func:`rank_candidates`.
        marks: what goes before and after each matching word.

    Returns:
        Conversation id → snippet on one line (absent when nothing matched there).
    """
    out: dict[int, str] = {}
    by_message = {mid: cid for cid, _, _, _, mid in chosen if mid is not None}
    titles = [cid for cid, _, _, _, mid in chosen if mid is None and cid not in tool_rows]
    # One query each for messages and titles: FTS5 sets a query up anew each time.
    snippet = "snippet(messages_fts, 0, ?, ?, '…', 16)"
    for rowid, text in _marked(conn, "messages_fts", snippet, marks, match, list(by_message)):
        out[by_message[rowid]] = text
    for cid, text in _marked(
        conn, "titles_fts", "highlight(titles_fts, 0, ?, ?)", marks, match, titles
    ):
        out[cid] = text
    for cid, _, _, _, best in chosen:
        if best is None and cid in tool_rows:
            out[cid] = tool_call_snippet(conn, match, tool_rows[cid], *marks)
    return out


def _marked(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    marks: tuple[str, str],
    match: str,
    rowids: list[int],
) -> list[tuple[int, str]]:
    """(row id, ``column`` on one line) for the rows ``rowids`` of ``table`` matching ``match``.

    ``column`` is a snippet or highlight call whose two ``?`` take ``marks``.

    ``rowid IN (…)`` given to FTS5 runs the whole query once per row id, and a prefix
    query's set-up takes ~0.4 s at a million messages. So FTS5 gets only the range of
    the row ids (``+`` keeps the list from it) and SQLite keeps the rows asked for; the
    range holds at most the matches :func:`rank_candidates` ranked.
    """
    rows: list[tuple[int, str]] = []
    wanted = sorted(rowids)
    for i in range(0, len(wanted), 500):  # well under SQLite's bound on parameters
        part = wanted[i : i + 500]
        query = (
            f"SELECT f.rowid, {column} FROM {table} f WHERE {table} MATCH ? "
            f"AND f.rowid BETWEEN ? AND ? AND +f.rowid IN ({','.join('?' * len(part))})"
        )
        for rowid, text in conn.execute(query, (*marks, match, part[0], part[-1], *part)):
            rows.append((int(rowid), " ".join(str(text).split())))
    return rows
