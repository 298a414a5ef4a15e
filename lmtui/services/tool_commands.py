"""Running a tool's bound local command — only ever after the user confirmed it.

The command is an argument list from the preset; ``{name}`` inside an argument is
replaced by the call's argument ``name`` (the whole argument stays one argv item,
so nothing the model writes is ever parsed by a shell). The process gets no stdin,
its output (stdout and stderr together) is cut at the tool's ``max_output`` bytes,
and it is killed, with its process group, at the tool's ``timeout``.

Confirmation is the caller's: :func:`run_confirmed` takes the exact argv the user
saw and approved, and a ``confirm`` callback that must return True for it to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import JSON
from lmtui.store.preset_tools import PresetTool

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_-]+)\}")


class ToolCommandError(LmtuiError):
    """A bound command cannot be built or started."""

    exit_code = 2
    kind = "tool_command"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a bound command did."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: killed at the time limit
    output: str
    truncated: bool = False
    timed_out: bool = False

    def as_tool_result(self) -> str:
        """The text sent back to the model as the tool's answer."""
        notes = []
        if self.timed_out:
            notes.append("[killed: time limit reached]")
        elif self.exit_code:
            notes.append(f"[exit code {self.exit_code}]")
        if self.truncated:
            notes.append("[output cut at the size limit]")
        return "\n".join([self.output, *notes]) if notes else self.output


def build_argv(tool: PresetTool, arguments: JSON) -> tuple[str, ...]:
    """The argv for one call: each ``{name}`` replaced by that argument's value.

    A string value is used as is, anything else as JSON text. A placeholder with
    no such argument is an error (the command does not run with a hole in it).
    """
    if not tool.command:
        raise ToolCommandError(f"Tool {tool.name} has no command bound.")

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in arguments:
            raise ToolCommandError(
                f"Tool {tool.name}: the call has no argument '{key}' for the command.",
                "Answer the call by hand, or fix the tool's parameters in the preset.",
            )
        item = arguments[key]
        if isinstance(item, str):
            return item
        import json

        return json.dumps(item, ensure_ascii=False)

    return tuple(_PLACEHOLDER.sub(value, part) for part in tool.command)


async def run_command(argv: tuple[str, ...], timeout_s: float, max_output: int) -> CommandResult:
    """Run ``argv`` (no shell, no stdin) with bounded time and output."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )
    except OSError as exc:
        raise ToolCommandError(
            f"Cannot run {argv[0]}: {exc.strerror or exc}.",
            "Check the tool's command in the preset (the program must be on PATH).",
        ) from None
    assert proc.stdout is not None
    chunks: list[bytes] = []
    size = 0
    truncated = False

    async def read_all() -> None:
        nonlocal size, truncated
        assert proc.stdout is not None
        while True:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                return
            room = max_output - size
            if len(chunk) > room:
                truncated = True  # keep draining, so the command is not blocked on a full pipe
            if room > 0:
                chunks.append(chunk[:room])
                size += min(room, len(chunk))

    timed_out = False
    try:
        await asyncio.wait_for(read_all(), timeout_s)
        code: int | None = await asyncio.wait_for(proc.wait(), max(0.1, timeout_s))
    except TimeoutError:
        timed_out = True
        code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
    text = b"".join(chunks).decode("utf-8", "replace")
    return CommandResult(argv, code, text, truncated, timed_out)


Confirm = Callable[[tuple[str, ...]], Awaitable[bool]]


async def run_confirmed(
    tool: PresetTool, arguments: JSON, confirm: Confirm
) -> CommandResult | None:
    """Build the argv, ask ``confirm(argv)``, and run it only on True; None when declined."""
    argv = build_argv(tool, arguments)
    if not await confirm(argv):
        return None
    return await run_command(argv, tool.timeout_s, tool.max_output)
