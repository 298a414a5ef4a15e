"""Making model text inert before it reaches a terminal.

A model can emit ESC, OSC or bidi control characters; written raw they could
retitle the window, write the clipboard or move the cursor. Each such character
is replaced by a visible stand-in, so a sequence split across deltas is still
harmless: without its ESC byte nothing is interpreted.
"""

from __future__ import annotations

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
