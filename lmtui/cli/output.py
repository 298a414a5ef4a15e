"""The CLI's one way to the terminal: every line lmtui prints goes through here.

Text from a server or from history (model ids, error messages, titles, replies) may
hold escape sequences. On a terminal they are made inert (``make_inert``); into a pipe
or a file data passes exactly, while messages on stderr are always made inert. JSON is
written with every control character, C1 and bidi controls included, escaped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from lmtui.backend.errors import LmtuiError
from lmtui.services.terminal_text import for_stream, json_text, make_inert


class OutputFailed(LmtuiError):
    """Standard output could not be written (a full disk, /dev/full, a gone terminal)."""

    exit_code = 15
    kind = "output"


def say(text: str = "", *, end: str = "\n", flush: bool = False) -> None:
    """Print a line of output on stdout (inert on a terminal)."""
    write(text + end, flush=flush)


def write(
    text: str, *, stream: TextIO | None = None, raw: bool = False, flush: bool = False
) -> None:
    """Write data (a reply, an export) to ``stream`` (stdout), inert on a terminal unless raw."""
    out = sys.stdout if stream is None else stream
    out.write(for_stream(text, out, raw=raw))
    if flush:
        out.flush()


def warn(text: str) -> None:
    """Print a message on stderr, always inert: a message is never data."""
    sys.stderr.write(make_inert(text) + "\n")
    sys.stderr.flush()


def print_json(data: object) -> None:
    """Print JSON to stdout, indented for people, easy for jq, inert on any terminal."""
    sys.stdout.write(json_text(data) + "\n")


def data_writer(stream: TextIO, *, raw: bool = False) -> Callable[[str], None]:
    """A writer for the many pieces of a streamed reply: the terminal check is made once."""
    inert = not raw and stream.isatty()

    def put(text: str) -> None:
        stream.write(make_inert(text) if inert else text)
        stream.flush()

    return put
