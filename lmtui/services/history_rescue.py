"""The open conversation, kept in a file when quitting leaves its history writes unsaved.

History writes go through a worker that retries a locked or failing database; quitting
waits a few seconds for it and then leaves what is still queued. So that no prompt or
reply is lost that way, the conversation on screen is written from memory, as one line
of the JSON Lines that ``lmtui history import`` reads, to a 0600 file next to the
history (``rescued/``). Importing it adds the whole conversation again: a part already
saved shows twice, once interrupted.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmtui.services.chat import ChatSession, Entry
from lmtui.services.reply_extras import facts_of
from lmtui.store.history import make_title
from lmtui.store.paths import ensure_private_dir
from lmtui.store.safe_files import write_new

RESCUE_DIR = "rescued"


def entry_json(entry: Entry) -> dict[str, Any]:
    """One message of ``entry`` in the import format (docs/history.md, "Import")."""
    facts = facts_of(entry.extras, entry.response_server)
    out: dict[str, Any] = {
        "role": entry.role,
        "content": entry.content,
        "reasoning": entry.reasoning,
        "model_requested": entry.model_requested,
        "model_used": entry.model_used,
        "finish_reason": entry.finish_reason.value if entry.finish_reason else None,
        "usage": asdict(entry.usage) if entry.usage else None,
        "timings": entry.timings_json(),
        "created": entry.created,
        "state": entry.state.value,
        "error": entry.error,
        "response_id": facts.response_id,
        "response_server": facts.response_server,
        "route": facts.route,
        "load_seconds": facts.load_seconds,
        "prompt_seconds": facts.prompt_seconds,
        "tool_calls": [call.to_json() for call in facts.tool_calls],
    }
    return {key: value for key, value in out.items() if value not in (None, "", [])}


def rescue_conversation(session: ChatSession, history_dir: Path) -> Path | None:
    """Write ``session``'s conversation to a new file under ``history_dir``/rescued.

    Args:
        session: the chat whose writes may not have reached the history.
        history_dir: the directory of the history database.

    Returns:
        The file written, or None when the conversation has no messages. Raises
        :class:`~lmtui.store.safe_files.UnsafeFile` (a full disk, a read-only
        directory) or OSError for the caller to report.
    """
    entries = [e for e in session.entries if e.role != "system"]
    if not entries:
        return None
    line = {
        "title": session.title or make_title(entries[0].content),
        "model": session.model or None,
        "preset": session.preset,
        "server": session.server_label,
        "messages": [entry_json(e) for e in entries],
    }
    folder = ensure_private_dir(history_dir / RESCUE_DIR)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        path = folder / (f"{stamp}.jsonl" if n == 0 else f"{stamp}-{n}.jsonl")
        if not path.exists():
            write_new(path, (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
            return path
    raise FileExistsError(f"{folder} holds too many rescued conversations from this second")
