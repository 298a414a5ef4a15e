"""Read terminal output (SGR colours, cursor moves) into cells, to judge what a user sees.

Used on the bytes lmtui writes for a screen (``render_screen``) and on a tmux
``capture-pane -p -e`` dump. A colour is a key that compares as the terminal
would: the 16 palette entries by index (``30``, ``90``, ``38;5;1`` alike), the
rest of the 256 palette and 24-bit colours by RGB, and the terminal's default
foreground and background as two distinct keys (they differ on every terminal).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from rich.color import EIGHT_BIT_PALETTE
from rich.console import Console

DEFAULT_FG: tuple[Any, ...] = ("default-fg",)
DEFAULT_BG: tuple[Any, ...] = ("default-bg",)

_CSI = re.compile(r"\x1b\[([0-9;:?]*)([A-Za-z])")


@dataclass(frozen=True, slots=True)
class Cell:
    """One visible character and the colours it is drawn with (after reverse)."""

    row: int
    col: int
    char: str
    fg: tuple[Any, ...]
    bg: tuple[Any, ...]


def _indexed(number: int) -> tuple[Any, ...]:
    if number < 16:
        return ("index", number)
    return ("rgb", *EIGHT_BIT_PALETTE[number])


def _extended(params: list[int], at: int) -> tuple[tuple[Any, ...] | None, int]:
    """A 38/48 colour starting at ``params[at]``; returns (key, params consumed)."""
    if at + 1 < len(params) and params[at + 1] == 5 and at + 2 < len(params):
        return _indexed(params[at + 2]), 3
    if at + 1 < len(params) and params[at + 1] == 2 and at + 4 < len(params):
        return ("rgb", params[at + 2], params[at + 3], params[at + 4]), 5
    return None, 1


def parse_cells(text: str) -> list[Cell]:
    """Every non-blank character of ``text`` with its effective colours."""
    fg, bg, reverse = DEFAULT_FG, DEFAULT_BG, False
    row = col = 0
    cells: list[Cell] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\x1b":
            match = _CSI.match(text, pos)
            if match is None:
                pos += 1
                continue
            pos = match.end()
            body, final = match.group(1), match.group(2)
            if final == "H":
                parts = [int(p) if p else 1 for p in body.split(";")] if body else [1, 1]
                row, col = parts[0] - 1, (parts[1] - 1 if len(parts) > 1 else 0)
            elif final == "m":
                params = [int(p) if p else 0 for p in body.replace(":", ";").split(";")]
                index = 0
                while index < len(params):
                    code = params[index]
                    step = 1
                    if code == 0:
                        fg, bg, reverse = DEFAULT_FG, DEFAULT_BG, False
                    elif code == 7:
                        reverse = True
                    elif code == 27:
                        reverse = False
                    elif 30 <= code <= 37:
                        fg = ("index", code - 30)
                    elif 90 <= code <= 97:
                        fg = ("index", code - 90 + 8)
                    elif code == 39:
                        fg = DEFAULT_FG
                    elif 40 <= code <= 47:
                        bg = ("index", code - 40)
                    elif 100 <= code <= 107:
                        bg = ("index", code - 100 + 8)
                    elif code == 49:
                        bg = DEFAULT_BG
                    elif code in (38, 48):
                        colour, step = _extended(params, index)
                        if colour is not None:
                            if code == 38:
                                fg = colour
                            else:
                                bg = colour
                    index += step
            continue
        pos += 1
        if char == "\n":
            row, col = row + 1, 0
            continue
        if char == "\r":
            col = 0
            continue
        if not char.isspace():
            shown_fg, shown_bg = (bg, fg) if reverse else (fg, bg)
            cells.append(Cell(row, col, char, shown_fg, shown_bg))
        col += 1
    return cells


def invisible_cells(text: str) -> list[Cell]:
    """The visible characters drawn with the same foreground and background colour."""
    return [cell for cell in parse_cells(text) if cell.fg == cell.bg]


def render_screen(app: Any, color_system: str) -> str:
    """The bytes the app would write for its whole current screen on a terminal.

    ``color_system`` is Rich's name: ``standard`` (16 colours), ``256`` or ``truecolor``.
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=color_system,
        legacy_windows=False,
        safe_box=False,
    )
    # Test-only reach into the compositor: it is what the driver writes to the terminal.
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return str(update.render_segments(console))
