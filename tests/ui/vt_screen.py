"""A small terminal emulator with xterm's rules, to tell whether two outputs draw the same.

It keeps a grid of cells (character, colours, attributes) and follows what Textual
and lmtui's output compressor write: printable text (wide characters take two cells),
CR, LF (with the tty's onlcr, as a pty adds it), BS, absolute and relative cursor
moves, ECH and EL (erased cells take the current background only: "background
colour erase"), SGR, the pending wrap at the last column, scrolling at the bottom.
Other escape sequences (private modes, OSC hyperlinks) are skipped.

:func:`visible` reduces a screen to what a user sees: a blank shows only its
background, and the attributes that draw on a blank (underline, reverse, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.cells import get_character_cell_size

_CSI = re.compile(r"\x1b\[([0-9;:?]*)([ -/]*)([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
# SGR attribute codes and the code that turns each off.
_ON = {1, 2, 3, 4, 5, 6, 7, 8, 9, 21, 53}
_OFF = {22: (1, 2), 23: (3,), 24: (4, 21), 25: (5, 6), 27: (7,), 28: (8,), 29: (9,), 55: (53,)}
_SHOWS_ON_BLANK = frozenset({4, 5, 6, 7, 9, 21, 53})
WIDE_PAD = ""  # the right half of a wide character


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its character, foreground, background and attributes as set."""

    char: str = " "
    fg: str = ""
    bg: str = ""
    attrs: frozenset[int] = frozenset()


BLANK = Cell()


@dataclass
class Screen:
    """A ``width``×``height`` terminal; :meth:`feed` it output."""

    width: int
    height: int
    onlcr: bool = True
    rows: list[list[Cell]] = field(init=False)
    row: int = 0
    col: int = 0
    wrap_pending: bool = False
    fg: str = ""
    bg: str = ""
    attrs: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rows = [[BLANK] * self.width for _ in range(self.height)]

    # ---- drawing -------------------------------------------------------------------
    def _erased(self) -> Cell:
        return Cell(" ", "", self.bg, frozenset())

    def _put(self, char: str) -> None:
        size = get_character_cell_size(char)
        if size == 0:
            return  # combining marks: not followed here
        if self.wrap_pending or self.col + size > self.width:
            self.wrap_pending = False
            self.col = 0
            self._line_feed()
        line = self.rows[self.row]
        self._unwide(self.row, self.col)
        if size == 2:
            self._unwide(self.row, self.col + 1)
        cell = Cell(char, self.fg, self.bg, frozenset(self.attrs))
        line[self.col] = cell
        if size == 2:
            line[self.col + 1] = Cell(WIDE_PAD, self.fg, self.bg, frozenset(self.attrs))
        self.col += size
        if self.col >= self.width:
            self.col = self.width - 1
            self.wrap_pending = True

    def _unwide(self, row: int, col: int) -> None:
        """Overwriting half of a wide character blanks its other half (as xterm does)."""
        line = self.rows[row]
        if col >= self.width:
            return
        if line[col].char == WIDE_PAD and col > 0:
            line[col - 1] = Cell(" ", line[col - 1].fg, line[col - 1].bg, line[col - 1].attrs)
        if col + 1 < self.width and line[col + 1].char == WIDE_PAD:
            line[col + 1] = Cell(" ", line[col + 1].fg, line[col + 1].bg, line[col + 1].attrs)

    def _line_feed(self) -> None:
        if self.row == self.height - 1:
            self.rows.pop(0)
            self.rows.append([self._erased()] * self.width)
        else:
            self.row += 1

    def _erase(self, start: int, end: int) -> None:
        self._unwide(self.row, start)
        if end - 1 > start:
            self._unwide(self.row, end - 1)
        line = self.rows[self.row]
        for col in range(start, min(end, self.width)):
            line[col] = self._erased()

    # ---- input ---------------------------------------------------------------------
    def feed(self, data: str) -> None:
        """Apply terminal output ``data``."""
        pos = 0
        while pos < len(data):
            char = data[pos]
            if char == "\x1b":
                match = _CSI.match(data, pos)
                if match is not None:
                    self._csi(match.group(1), match.group(2), match.group(3))
                    pos = match.end()
                    continue
                osc = _OSC.match(data, pos)
                pos = osc.end() if osc else pos + 2
                continue
            pos += 1
            if char == "\r":
                self.col, self.wrap_pending = 0, False
            elif char == "\n":
                if self.onlcr:
                    self.col = 0
                self.wrap_pending = False
                self._line_feed()
            elif char == "\b":
                self.col, self.wrap_pending = max(0, self.col - 1), False
            elif char >= " ":
                self._put(char)

    def _csi(self, body: str, middle: str, final: str) -> None:
        if body.startswith("?") or middle:
            return  # private modes and the like: they change no cell
        numbers = [int(p) if p.isdigit() else 0 for p in body.split(";")] if body else []
        first = numbers[0] if numbers else 0
        count = max(1, first)
        if final == "m":
            self._sgr(numbers or [0])
            return
        if final == "H":
            row = numbers[0] if numbers else 1
            col = numbers[1] if len(numbers) > 1 else 1
            self.row = min(max(row, 1), self.height) - 1
            self.col = min(max(col, 1), self.width) - 1
        elif final == "C":
            self.col = min(self.col + count, self.width - 1)
        elif final == "D":
            self.col = max(self.col - count, 0)
        elif final == "A":
            self.row = max(self.row - count, 0)
        elif final == "B":
            self.row = min(self.row + count, self.height - 1)
        elif final == "X":
            self._erase(self.col, self.col + count)
        elif final == "K":
            if first == 0:
                self._erase(self.col, self.width)
            elif first == 1:
                self._erase(0, self.col + 1)
            else:
                self._erase(0, self.width)
        else:
            raise ValueError(f"vt_screen does not follow CSI {body}{middle}{final}")
        self.wrap_pending = False

    def _sgr(self, codes: list[int]) -> None:
        index = 0
        while index < len(codes):
            code = codes[index]
            index += 1
            if code == 0:
                self.fg, self.bg, self.attrs = "", "", set()
            elif code in _ON:
                self.attrs.add(code)
            elif code in _OFF:
                self.attrs.difference_update(_OFF[code])
            elif 30 <= code <= 37 or 90 <= code <= 97:
                self.fg = f"i{code - 30 if code < 90 else code - 82}"
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self.bg = f"i{code - 40 if code < 100 else code - 92}"
            elif code == 39:
                self.fg = ""
            elif code == 49:
                self.bg = ""
            elif code in (38, 48):
                mode = codes[index] if index < len(codes) else 0
                size = 1 if mode == 5 else 3 if mode == 2 else 0
                args = codes[index + 1 : index + 1 + size]
                index += 1 + size
                if mode == 5 and args and args[0] < 16:
                    colour = f"i{args[0]}"  # the 16 palette entries, however they are asked for
                else:
                    colour = ":".join(str(a) for a in (mode, *args))
                if code == 38:
                    self.fg = colour
                else:
                    self.bg = colour

    def text(self) -> list[str]:
        """The characters on each row (wide characters once)."""
        return ["".join(c.char for c in line) for line in self.rows]


def visible(screen: Screen) -> list[list[tuple[str, str, str, frozenset[int]]]]:
    """Each cell as it shows: (character, colour drawn, background drawn, attributes seen).

    Reverse is applied; a blank keeps only its background and the attributes that draw
    on a blank; bold, dim and italic are kept for characters only.
    """
    shown = []
    for line in screen.rows:
        row = []
        for cell in line:
            fg, bg = (cell.bg or "default-bg", cell.fg or "default-fg")
            if 7 not in cell.attrs:
                fg, bg = (cell.fg or "default-fg", cell.bg or "default-bg")
            if cell.char == " ":
                attrs = cell.attrs & _SHOWS_ON_BLANK
                row.append((" ", fg if attrs - {7} else "", bg, attrs))
            else:
                row.append((cell.char, fg, bg, cell.attrs))
        shown.append(row)
    return shown
