"""Making model text inert before it reaches a terminal.

A model can emit ESC, OSC or bidi control characters; written raw they could
retitle the window, write the clipboard or move the cursor. Each such character
is replaced by a visible stand-in, so a sequence split across deltas is still
harmless: without its ESC byte nothing is interpreted.
"""

from __future__ import annotations

import json
from typing import TextIO

# C0 controls except tab and newline become their Unicode "control picture";
# DEL and the C1 range become U+FFFD; bidi embedding/override/isolate controls
# become a visible escape.
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_TABLE[0x0D] = ""  # a lone carriage return would let text overwrite itself; drop it
_TABLE[0x7F] = "\u2421"
_TABLE.update({c: "\ufffd" for c in range(0x80, 0xA0)})
_TABLE.update(
    {c: f"<U+{c:04X}>" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
)


def make_inert(text: str) -> str:
    """Replace terminal control characters with visible, harmless stand-ins."""
    return text.translate(_TABLE)


def has_controls(text: str) -> bool:
    """True when ``make_inert`` would change ``text``."""
    return any(ord(ch) in _TABLE for ch in text)


def for_stream(text: str, stream: TextIO, *, raw: bool = False) -> str:
    """``text`` as it may be written to ``stream``: inert on a terminal, exact elsewhere.

    A pipe or a file gets the bytes as sent (the output is data for another program);
    a terminal never gets a control sequence unless ``raw`` asks for it.
    """
    if raw or not _isatty(stream):
        return text
    return make_inert(text)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):  # closed or detached: nothing will be drawn
        return False


# JSON escapes C0 controls itself; C1 (U+0080-U+009F, U+009B is a one-byte CSI), DEL and
# bidi controls pass through ``ensure_ascii=False``. They can only occur inside strings,
# where a \uXXXX escape means the same character.
_JSON_TABLE: dict[int, str] = {
    c: f"\\u{c:04x}"
    for c in (0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
_JSON_TABLE.update({0x200E: "\\u200e", 0x200F: "\\u200f", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def json_text(data: object, *, indent: int | None = 2) -> str:
    """``data`` as JSON that is readable (non-ASCII kept) yet safe on a terminal.

    Every control character, C1 and bidi control included, is written as an escape, so
    ``jq`` reads the same value and a terminal interprets none of it.
    """
    return json.dumps(data, indent=indent, ensure_ascii=False).translate(_JSON_TABLE)
