"""How the history browser shows a conversation or a search hit: titles, ages, marks.

Pure functions of the history records, kept apart from the screen
(:mod:`lmtui.ui.history_browser`).
"""

from __future__ import annotations

import time

from textual.content import Content

from lmtui.services.terminal_text import make_inert
from lmtui.store.history import ConversationSummary, SearchHit

# Private-use characters cannot be confused with «» typed in a message.
MARK_START = "\ue000"
MARK_END = "\ue001"
HIGHLIGHT_STYLE = "bold reverse"
META_STYLE = "dim"
ERROR_STYLE = "bold"


def relative_time(then: float, now: float) -> str:
    """``then`` as a short phrase relative to ``now``: "just now", "5 min ago", "2 h ago"..."""
    seconds = now - then
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return time.strftime("%Y-%m-%d", time.localtime(then))


def plural(count: int, word: str) -> str:
    """``"1 message"``, ``"2 messages"``, ``"10,000 conversations"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def marked_content(text: str, start: str = MARK_START, end: str = MARK_END) -> Content:
    """Inert text with the parts between ``start`` and ``end`` highlighted (marks removed).

    An unclosed mark highlights to the end; a stray end mark is dropped.
    """
    parts: list[str | tuple[str, str]] = []
    rest = make_inert(text)
    while rest:
        before, found, after = rest.partition(start)
        if before:
            parts.append(before.replace(end, ""))
        if not found:
            break
        match, _, rest = after.partition(end)
        if match:
            parts.append((match.replace(start, ""), HIGHLIGHT_STYLE))
    return Content.assemble(*parts)


def summary_prompt(summary: ConversationSummary, now: float) -> Content:
    """Two lines for a conversation: its title, then model, age and message count."""
    meta = " · ".join(
        (
            make_inert(summary.model) if summary.model else "no model",
            relative_time(summary.updated, now),
            plural(summary.message_count, "message"),
        )
    )
    return Content.assemble((make_inert(summary.title), "bold"), "\n", (meta, META_STYLE))


def hit_prompt(hit: SearchHit, now: float) -> Content:
    """Two lines for a search hit: its title and age, then the snippet with matches lit."""
    head = Content.assemble(
        (make_inert(hit.title), "bold"), (f"  · {relative_time(hit.updated, now)}", META_STYLE)
    )
    return Content.assemble(head, "\n", marked_content(hit.snippet))


# ---- the list --------------------------------------------------------------------------
