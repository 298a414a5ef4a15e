"""Every reach into Textual's private API, in one place, so an upgrade breaks here first.

Each block says what it changes and why; nothing outside this module imports a
private Textual name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events

# ---- Alt+Enter sent as ESC CR / ESC LF --------------------------------------------
# tmux, screen and most terminals over SSH send Alt+Enter as ESC followed by CR (or LF).
# Textual's input parser knows no such sequence: it keeps reading, so the keys typed
# after it are swallowed into a "sequence", then replayed as `^` plus a plain Enter,
# which sent the half-written prompt. Read both as the key "alt+enter".
# (Shift+Enter under the kitty keyboard protocol, `CSI 13;2u`, Textual already parses.)

ALT_ENTER_SEQUENCES = frozenset({"\x1b\r", "\x1b\n"})


def install_alt_enter() -> None:
    """Teach Textual's terminal input parser ESC CR and ESC LF as Alt+Enter (idempotent)."""
    from textual._xterm_parser import XTermParser

    original: Any = XTermParser._sequence_to_key_events
    if getattr(original, "lmtui_alt_enter", False):
        return

    def sequence_to_key_events(
        self: XTermParser, sequence: str, alt: bool = False
    ) -> Iterable[events.Key]:
        if sequence in ALT_ENTER_SEQUENCES:
            yield events.Key("alt+enter", None)
            return
        yield from original(self, sequence, alt)

    sequence_to_key_events.lmtui_alt_enter = True  # type: ignore[attr-defined]
    XTermParser._sequence_to_key_events = sequence_to_key_events  # type: ignore[method-assign]


# ---- end of the Alt+Enter block -----------------------------------------------------
