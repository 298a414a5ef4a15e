"""Exporting history to a file: one policy for the TUI and the CLI.

An existing file is refused unless ``force`` is given (the CLI's ``--force``); the
file written is private (0600), also when it replaces another, and it is written
whole or not at all (a temporary file renamed over the target).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from lmtui.store.history import HistoryInputError, HistoryStore
from lmtui.store.safe_files import check_output_path, write_new

ExportFormat = Literal["md", "json"]

EXISTS_REMEDY = "Give a new file name (on the command line, --force replaces it)."


def check_export_path(path_text: str, *, force: bool = False) -> Path:
    """The file to export to (``~`` expanded), or :class:`HistoryInputError` saying why not.

    Refused: an empty name, a directory, a missing parent directory, and an existing
    file unless ``force``.
    """
    text = path_text.strip()
    if not text:
        raise HistoryInputError("No file given.", "Type the path of a file to write.")
    path = Path(os.path.expanduser(text))
    if path.is_dir():
        raise HistoryInputError(f"{path} is a directory.", "Give a file name inside it.")
    if path.exists() and not force:
        raise HistoryInputError(f"{path} already exists.", EXISTS_REMEDY)
    if not path.parent.is_dir():
        raise HistoryInputError(
            f"The directory {path.parent} does not exist.", "Create it first or pick another."
        )
    return path


def write_private(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` as a 0600 file; an existing file only when ``force``.

    Through :mod:`lmtui.store.safe_files`: a symlink, a device or a FIFO is refused
    even with ``force`` and never followed or replaced. Raises :class:`HistoryInputError`
    when the file exists (and not ``force``), :class:`UnsafeFile` for any other refusal.
    """
    if not force and check_output_path(path):
        raise HistoryInputError(f"{path} already exists.", EXISTS_REMEDY)
    write_new(path, text.encode("utf-8"), force=force)


def export_to_file(
    store: HistoryStore,
    conversation_ids: list[int] | None,
    fmt: ExportFormat,
    path: Path,
    *,
    force: bool = False,
) -> Path:
    """Export conversations (all when ``conversation_ids`` is None) as ``fmt`` to ``path``.

    Returns the path written. Raises :class:`HistoryInputError` (file exists and not
    ``force``, or cannot be written) or the store's errors.
    """
    write_private(path, store.export(conversation_ids, fmt), force=force)
    return path
