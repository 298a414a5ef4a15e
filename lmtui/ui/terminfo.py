"""One flag of a terminal's terminfo entry, read from the compiled file itself.

Python's ``curses.setupterm`` reads an entry once per process and ignores later calls,
so it cannot answer for another ``TERM`` (nor in tests); the compiled format is small
enough to read here (term(5): a header of six shorts, the names, then one byte per
boolean capability in a fixed order).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path

# Boolean capabilities in their compiled order (term(5)); only the ones up to bce.
_BOOLEANS = [
    "bw",
    "am",
    "xsb",
    "xhp",
    "xenl",
    "eo",
    "gn",
    "hc",
    "km",
    "hs",
    "in",
    "da",
    "db",
    "mir",
    "msgr",
    "os",
    "eslok",
    "xt",
    "hz",
    "ul",
    "xon",
    "nxon",
    "mc5i",
    "chts",
    "nrrmc",
    "npc",
    "ndscr",
    "ccc",
    "bce",
]
_MAGICS = (0o432, 0o1036)  # the legacy and the 32-bit-number formats
_SYSTEM_DIRS = ("/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo")


def _directories(env: Mapping[str, str]) -> Iterator[Path]:
    if env.get("TERMINFO"):
        yield Path(env["TERMINFO"])
    if env.get("HOME"):
        yield Path(env["HOME"]) / ".terminfo"
    for entry in env.get("TERMINFO_DIRS", "").split(os.pathsep):
        if entry:
            yield Path(entry)
    for entry in _SYSTEM_DIRS:
        yield Path(entry)


def _entry(term: str, env: Mapping[str, str]) -> bytes | None:
    """The compiled entry for ``term``, or None when none is found."""
    if not term or "/" in term or term.startswith("."):
        return None
    for directory in _directories(env):
        # Linux files it under the first letter, macOS under its hex code.
        for sub in (term[0], f"{ord(term[0]):x}"):
            try:
                return (directory / sub / term).read_bytes()
            except OSError:
                continue
    return None


def boolean_capability(name: str, env: Mapping[str, str]) -> bool | None:
    """Whether ``env``'s ``TERM`` has boolean capability ``name``; None when not known.

    ``name`` is one of the first 29 booleans (up to ``bce``).
    """
    data = _entry(env.get("TERM", ""), env)
    if data is None or len(data) < 12:
        return None
    magic, names_size, bool_count = struct.unpack("<3h", data[:6])
    if magic not in _MAGICS:
        return None
    index = _BOOLEANS.index(name)
    if index >= bool_count:
        return False
    offset = 12 + names_size + index
    if offset >= len(data):
        return None
    return data[offset] == 1


def terminal_erases_with_background(env: Mapping[str, str]) -> bool:
    """True when the terminal fills erased cells with the current background ("bce").

    tmux always does (whatever ``TERM`` it sets); otherwise the terminfo entry for
    ``TERM`` says (GNU screen's does not). Not known: False.
    """
    if env.get("TMUX"):
        return True
    return bool(boolean_capability("bce", env))
