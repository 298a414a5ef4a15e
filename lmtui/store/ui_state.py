"""What the app had open when it last ran, so the next start can pick it up again.

One small JSON file (0600) in the state directory: ``{"open_conversation": 42}``.
A missing, unreadable or malformed file simply means "nothing to reopen"; a
failed write is reported to the caller and loses nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lmtui.store import paths

FILE_NAME = "ui-state.json"


def state_file() -> Path:
    """Where the app's state is kept."""
    return paths.state_dir() / FILE_NAME


def last_open_conversation(path: Path | None = None) -> int | None:
    """The conversation open when the app last ran, or None."""
    try:
        data = json.loads((path or state_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("open_conversation") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def remember_open_conversation(conversation_id: int | None, path: Path | None = None) -> None:
    """Record ``conversation_id`` (None: a new, unsaved chat) as the one open now.

    Raises OSError when the file cannot be written.
    """
    target = path or state_file()
    paths.ensure_private_dir(target.parent)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", opener=paths.private_file_opener) as handle:
            json.dump({"open_conversation": conversation_id}, handle)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
