"""Editing the draft in the user's own editor ($VISUAL, $EDITOR, else vi)."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual.app import App, SuspendNotSupported

from lmtui.backend.errors import ConfigError, LmtuiError
from lmtui.ui.notices import notify_error, notify_text

DEFAULT_EDITOR = "vi"
EXIT_NOT_FOUND = 127
EXIT_NOT_RUNNABLE = 126


def editor_command(env: Mapping[str, str]) -> list[str]:
    """The editor command line from ``$VISUAL`` or ``$EDITOR`` (``vi`` when neither is set).

    Raises ConfigError when the variable is not a valid shell-style command line.
    """
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if not value:
            continue
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(
                f"${name} is not a valid command line ({exc}): {value}",
                f"Set ${name} to an editor command, e.g. `export {name}='nano'`.",
            ) from exc
        if argv:
            return argv
    return [DEFAULT_EDITOR]


def run_editor(path: Path, env: Mapping[str, str], *, interactive: bool = True) -> int:
    """Run the user's editor on ``path`` and return its exit status.

    With ``interactive=False`` the editor's stdio is not attached to the terminal
    (for a suspended-less run, e.g. headless tests). A missing editor gives 127 and
    one that cannot be executed 126, as a shell would.
    """
    argv = [*editor_command(env), str(path)]
    stdio = None if interactive else subprocess.DEVNULL
    try:
        done = subprocess.run(  # the user's own editor, by design
            argv, env=dict(env), stdin=stdio, stdout=stdio, stderr=stdio, check=False
        )
    except FileNotFoundError:
        return EXIT_NOT_FOUND
    except PermissionError:
        return EXIT_NOT_RUNNABLE
    return done.returncode


async def edit_externally(app: App[Any], text: str, *, suffix: str = ".md") -> str | None:
    """Let the user edit ``text`` in their editor; the new text, or None on failure.

    The text goes to a private (0600) temp file that is removed afterwards. The app
    is suspended while the editor owns the terminal; where suspending is not
    supported the editor still runs, without the terminal. On failure the user is
    told why (a notification) and the caller keeps its draft as it was.
    """
    env = dict(os.environ)
    fd, name = tempfile.mkstemp(prefix="lmtui-draft-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # A text file ends in a newline: a line the editor appends starts on its own line.
            handle.write(text if not text or text.endswith("\n") else text + "\n")
        try:
            command = " ".join(editor_command(env))
            try:
                with app.suspend():
                    status = run_editor(path, env)
            except SuspendNotSupported:
                status = await asyncio.to_thread(run_editor, path, env, interactive=False)
        except LmtuiError as exc:
            notify_error(app, exc, title="Editor")
            return None
        if status != 0:
            notify_text(app, _failure_text(command, status), title="Editor", severity="error")
            return None
        edited = path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
    # The file (and most editors) end in a newline; do not let it creep into a draft that had none.
    if edited.endswith("\n") and not text.endswith("\n"):
        edited = edited[:-1]
    return edited


def _failure_text(command: str, status: int) -> str:
    if status == EXIT_NOT_FOUND:
        return f"Editor `{command}` was not found; the draft is unchanged. Set $VISUAL or $EDITOR."
    if status == EXIT_NOT_RUNNABLE:
        return f"Editor `{command}` could not be run; the draft is unchanged."
    return f"Editor `{command}` exited with status {status}; the draft is unchanged."
