"""Fewer bytes for the same screen: a rewriter for what Textual writes to the terminal.

Textual draws every run of cells as ``ESC[<style>m text ESC[0m`` (Rich's way), writes
blank cells as spaces and resends unchanged cells on every repaint: a row of the
120-column pane cost ~250 bytes for ~16 characters of text, and over SSH that is what
crosses the link. :class:`OutputCompressor` rewrites that output into a shorter
sequence that leaves every cell of the screen looking the same:

- a style is sent only when something is about to be drawn in it, and only what
  changes (``ESC[39m`` rather than a reset and the whole style again);
- blank cells need only their background: the foreground, bold, italic and dim of a
  space show nothing (reverse, underline, blink, strike-through and overline do, and
  are kept);
- a run of blanks becomes an erase, ``ESC[nX`` (ECH) or ``ESC[K`` (EL). Erased cells
  take the current background colour ("background colour erase", xterm's and tmux's
  behaviour); on a terminal without it (``bce`` missing from its terminfo, e.g. GNU
  screen) only blanks in the default background are erased;
- it remembers what each cell shows and sends, of each piece Textual writes, only the
  span from its first to its last changed cell;
- cursor moves are lazy and as short as they can be (``ESC[40C``, ``ESC[B`` + BS); a
  line feed followed by an absolute move is dropped when it cannot scroll.

Where the cursor is, and what the cells hold, is followed through ASCII text only.
After any other character the column is Rich's estimate (the terminal may draw the
character wider): the row goes out as written, its cells are forgotten and the next move
is absolute; only a blank run right before that move is still erased. An escape sequence
it does not parse, a line feed that may scroll, text that may wrap, a resize or
:meth:`OutputCompressor.forget` make it forget everything. Assumes no scroll region
(Textual sets none).

docs/rendering.md ("Compact output") has the reasoning, benchmarks/README.md the figures.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from rich.cells import cell_len

# SGR (styles), CUP (absolute moves, as Textual writes them), runs of blanks, line
# feeds, DEC private modes (synchronized output, cursor visibility, mouse reporting).
_TOKEN = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[(\d+);(\d+)H|(    +)|(\n)|\x1b\[\?([0-9;]*)[hl]")
_SGR, _CUP, _BLANKS, _NEWLINE, _MODE, _OTHER = range(6)
# Private modes that move the cursor or save/restore the style (DECCOLM, DECOM, the
# alternate screen's save and restore); every other one leaves both alone.
_MODES_THAT_MOVE = frozenset({"3", "6", "1047", "1048", "1049"})

# Attribute codes that turn something on, and the code that turns each off again.
_OFF = {1: 22, 2: 22, 3: 23, 4: 24, 21: 24, 5: 25, 6: 25, 7: 27, 8: 28, 9: 29, 53: 55}
_CLEARS = {22: (1, 2), 23: (3,), 24: (4, 21), 25: (5, 6), 27: (7,), 28: (8,), 29: (9,), 55: (53,)}
# Attributes that make a blank cell show something; erasing would lose them.
_VISIBLE_ON_BLANK = frozenset({4, 5, 6, 7, 9, 21, 53})


class Style(NamedTuple):
    """A terminal's drawing state: attributes on, foreground and background ("" = default)."""

    attrs: frozenset[int]
    fg: str
    bg: str


DEFAULT = Style(frozenset(), "", "")


@lru_cache(maxsize=1024)
def apply_sgr(style: Style | None, params: str) -> Style | None:
    """``style`` after ``ESC[<params>m``; None when the result cannot be known.

    It cannot be when ``style`` is unknown and ``params`` does not start with a reset,
    or when ``params`` holds a code this model does not follow.
    """
    codes = params.split(";")
    if codes[0] not in ("", "0") and style is None:
        return None
    attrs = set(style.attrs) if style else set()
    fg, bg = (style.fg, style.bg) if style else ("", "")
    index = 0
    while index < len(codes):
        text = codes[index]
        if not text.isdigit() and text != "":
            return None
        code = int(text or 0)
        index += 1
        if code == 0:
            attrs, fg, bg = set(), "", ""
        elif code in _OFF:
            attrs.add(code)
        elif code in _CLEARS:
            attrs.difference_update(_CLEARS[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = text
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = text
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        elif code in (38, 48):
            mode = codes[index] if index < len(codes) else ""
            size = 1 if mode == "5" else 3 if mode == "2" else 0
            args = codes[index + 1 : index + 1 + size]
            if not size or len(args) != size or not all(a.isdigit() for a in args):
                return None
            colour = ";".join((text, mode, *args))
            index += 1 + size
            if code == 38:
                fg = colour
            else:
                bg = colour
        else:
            return None
    return Style(frozenset(attrs), fg, bg)


def _full(style: Style) -> str:
    parts = [str(code) for code in sorted(style.attrs)]
    parts += [part for part in (style.fg, style.bg) if part]
    return ";".join(["0", *parts])


@lru_cache(maxsize=4096)
def sgr_between(old: Style | None, new: Style) -> str:
    """The shortest ``ESC[...m`` that takes the terminal from ``old`` to ``new``."""
    full = f"\x1b[{_full(new)}m"
    if old is None:
        return full
    params: list[str] = []
    gone = old.attrs - new.attrs
    readd: set[int] = set()
    for off in sorted({_OFF[code] for code in gone}):
        params.append(str(off))
        readd.update(code for code in _CLEARS[off] if code in new.attrs)
    params += [str(code) for code in sorted((new.attrs - old.attrs) | readd)]
    if new.fg != old.fg:
        params.append(new.fg or "39")
    if new.bg != old.bg:
        params.append(new.bg or "49")
    diff = f"\x1b[{';'.join(params)}m"
    return diff if len(diff) < len(full) else full


def move_between(row: int, col: int, to_row: int, to_col: int, absolute: str) -> str:
    """The shortest way from (``row``, ``col``) to (``to_row``, ``to_col``), all on screen.

    ``absolute`` is the move as written (``ESC[r;cH``); it is kept unless something is
    shorter. Relative moves stop at the margins, which on-screen targets never reach.
    """
    if (row, col) == (to_row, to_col):
        return ""
    down, right = to_row - row, to_col - col
    vertical = "" if not down else _steps(down, "B") if down > 0 else _steps(-down, "A")
    if not right:
        horizontal = ""
    elif right > 0:
        horizontal = _steps(right, "C")
    else:
        horizontal = "\b" * -right if right >= -2 else _steps(-right, "D")
    best = absolute
    for candidate in (vertical + horizontal, vertical + "\r" + _steps(to_col - 1, "C")):
        if len(candidate) < len(best):
            best = candidate
    return best


def _steps(count: int, final: str) -> str:
    if count <= 0:
        return ""
    return f"\x1b[{final}" if count == 1 else f"\x1b[{count}{final}"


def for_blanks(term: Style | None, want: Style) -> Style:
    """The style to draw blanks meant in ``want`` with, changing ``term`` the least.

    A blank shows only its background and the attributes in ``_VISIBLE_ON_BLANK``.
    """
    if term is None or want.attrs & _VISIBLE_ON_BLANK:
        return want
    if term.bg == want.bg and not term.attrs & _VISIBLE_ON_BLANK:
        return term
    return Style(term.attrs - _VISIBLE_ON_BLANK, term.fg, want.bg)


# A cell as the compressor remembers it: (character, how it looks); None: not known.
_Look = tuple[object, ...]


def _look(char: str, style: Style) -> _Look:
    """What a cell shows: a blank only its background and the attributes that draw on it."""
    if char == " ":
        return (style.bg, style.attrs & _VISIBLE_ON_BLANK)
    return (style.attrs, style.fg, style.bg)


class OutputCompressor:
    """Rewrites terminal output into fewer bytes that draw the same screen.

    One instance per terminal: it remembers the style the terminal is in and what its
    cells show between writes (every write must pass through it), and sends only the
    cells that change. ``bce``: the terminal erases with the current background colour.
    """

    def __init__(self, bce: bool = True) -> None:
        self.bce = bce
        self._term: Style | None = None  # the terminal's style; None: not known
        self._screen_size = (0, 0)
        self._cursor = (0, 0, False)  # (row, col, exact) after the last write
        # Per row: the characters and looks of its cells as last sent (None: not known).
        self._chars: list[list[str | None]] = []
        self._looks: list[list[_Look | None]] = []
        self.bytes_in = 0
        self.bytes_out = 0

    def forget(self) -> None:
        """Assume nothing about the terminal (another program may have written to it)."""
        self._term = None
        self._cursor = (0, 0, False)
        self._forget_cells()

    def _forget_cells(self) -> None:
        width, height = self._screen_size
        self._chars = [[None] * width for _ in range(height)]
        self._looks = [[None] * width for _ in range(height)]

    def compress(self, data: str, width: int | None = None, height: int | None = None) -> str:
        """The bytes to write instead of ``data``, for a ``width``×``height`` terminal.

        Without a size, only styles are rewritten.
        """
        size = (width or 0, height or 0)
        if size != self._screen_size:
            self._screen_size = size  # resized: the terminal may have moved or cleared anything
            self._cursor = (0, 0, False)
            self._forget_cells()
        tokens: list[tuple[int, str, int, int]] = []  # (kind, text, number, number)
        pos = 0
        for match in _TOKEN.finditer(data):
            start = match.start()
            if start > pos:
                tokens.append((_OTHER, data[pos:start], 0, 0))
            pos = match.end()
            if match.group(1) is not None:
                tokens.append((_SGR, match.group(1), 0, 0))
            elif match.group(2) is not None:
                tokens.append((_CUP, match.group(0), int(match.group(2)), int(match.group(3))))
            elif match.group(4) is not None:
                tokens.append((_BLANKS, match.group(4), len(match.group(4)), 0))
            elif match.group(5) is not None:
                tokens.append((_NEWLINE, "\n", 0, 0))
            elif _MODES_THAT_MOVE.isdisjoint(match.group(6).split(";")):
                tokens.append((_MODE, match.group(0), 0, 0))
            else:
                tokens.append((_OTHER, match.group(0), 0, 0))
        if pos < len(data):
            tokens.append((_OTHER, data[pos:], 0, 0))
        out = self._rewrite(tokens, size[0], size[1])
        self.bytes_in += len(data)
        self.bytes_out += len(out)
        return out

    def _rewrite(self, tokens: list[tuple[int, str, int, int]], width: int, height: int) -> str:
        out: list[str] = []
        emit = out.append
        term = self._term
        # The style the original output has the terminal in by now. While it is None
        # ("not known"), term is None too: the terminal has it, whatever it is.
        want: Style | None = term
        chars, looks = self._chars, self._looks
        # Where the original output has the cursor (row, col, 1-based; 0: not known) and
        # where the terminal has it; they differ only while both are known (a move is
        # pending). col == width + 1: a pending wrap. ``exact``: the column was followed
        # through single-width ASCII only (not Rich's widths of other characters).
        row, col, exact = self._cursor  # (the terminal's cursor stays put between writes)
        at_row, at_col, at_exact = row, col, exact
        count = len(tokens)

        def sync(target: Style | None) -> None:
            nonlocal term
            if target is not None and target != term:
                emit(sgr_between(term, target))
                term = target

        def go() -> None:
            """Bring the terminal's cursor to the original's (a pending move)."""
            nonlocal at_row, at_col, at_exact
            if not (row and col) or ((at_row, at_col) == (row, col) and (at_exact or not exact)):
                return
            absolute = f"\x1b[{row};{col}H"
            if at_exact and at_row and 1 <= at_col <= width:
                emit(move_between(at_row, at_col, row, col, absolute))
            else:
                emit(absolute)  # (from a column followed only approximately: absolute)
            at_row, at_col, at_exact = row, col, True

        def cup_follows(at: int, row_now: int) -> bool:
            """An absolute move comes next (past styles and line feeds that cannot scroll)."""
            for index in range(at, count):
                kind = tokens[index][0]
                if kind == _CUP:
                    return True
                if kind == _NEWLINE:
                    if not row_now or row_now >= height:
                        return False
                    row_now += 1
                elif kind != _SGR:
                    return False
            return False

        def lost() -> None:
            """The cursor's whereabouts are no longer known (after it was brought along)."""
            nonlocal row, col, at_row, at_col
            row = col = at_row = at_col = 0

        for index, (kind, text, first, second) in enumerate(tokens):
            if kind == _SGR:
                after = apply_sgr(want, text)
                if after is None:  # a style we cannot follow: pass it on as it is
                    sync(want)
                    emit(f"\x1b[{text}m")
                    term = None
                want = after
            elif kind == _CUP:
                if not (1 <= first <= height and 1 <= second <= width):
                    emit(text)  # the terminal would clamp it: follow no position
                    lost()
                    continue
                if not (at_row and at_col):
                    emit(text)  # from nowhere known: as written
                    at_row, at_col, at_exact = first, second, True
                row, col, exact = first, second, True
            elif kind == _MODE:
                go()  # (the cursor may show from here on)
                emit(text)  # changes no cell, style or position
            elif kind == _NEWLINE:
                if row and row < height and cup_follows(index + 1, row + 1):
                    row += 1  # it would not scroll and a move follows: not needed
                    continue
                go()
                if row and row < height:
                    emit(text)  # it moves the cursor down, never scrolls: no style needed
                    row += 1
                else:
                    sync(want)
                    emit(text)
                    row = 0
                    self._forget_cells()  # it may have scrolled
                    chars, looks = self._chars, self._looks
                col = 0  # the terminal may add a carriage return (onlcr)
                at_row, at_col = row, col
            elif (kind == _BLANKS or "\x1b" not in text) and text.isprintable():
                size = cell_len(text)
                if not (row and col) or want is None or col + size - 1 > width:
                    # Where it lands or how it looks is not known: send it as written.
                    go()
                    sync(want)
                    emit(text)
                    if row and col:
                        for cells in (chars, looks):
                            cells[row - 1][:] = [None] * width
                        col += size
                        exact = exact and text.isascii()
                        if col > width + 1:
                            lost()
                            self._forget_cells()  # it wrapped, maybe scrolled
                            chars, looks = self._chars, self._looks
                        at_row, at_col, at_exact = row, col, exact
                    else:
                        self._forget_cells()  # drawn somewhere not known
                        chars, looks = self._chars, self._looks
                    continue
                if not exact or not text.isascii():
                    # Cell widths other than one: the column is Rich's idea of it (the
                    # terminal's may differ), the row no longer known cell by cell.
                    go()
                    if kind == _BLANKS and cup_follows(index + 1, row):
                        # An erase covers the same cells as the blanks, wherever the
                        # cursor really is (short of the margin), and a move follows.
                        sync(for_blanks(term, want))
                        sent = self._blanks(text, col, False, width, term)
                    else:
                        sync(want)
                        sent = text
                    emit(sent)
                    chars[row - 1][:] = [None] * width
                    looks[row - 1][:] = [None] * width
                    col += size
                    exact = at_exact = False
                    if sent is text:
                        at_row, at_col = row, col
                    continue
                # Send only the cells that change, from the first to the last of them.
                line_chars, line_looks = chars[row - 1], looks[row - 1]
                start = col - 1
                blank, solid = _look(" ", want), _look("x", want)
                first_change = last_change = -1
                for offset, char in enumerate(text):
                    look = blank if char == " " else solid
                    if line_chars[start + offset] != char or line_looks[start + offset] != look:
                        if first_change < 0:
                            first_change = offset
                        last_change = offset
                end = col + size
                # Ending in the last column leaves the cursor waiting to wrap, a state only
                # drawing that cell gets the terminal into; it matters unless a move follows.
                pending = end == width + 1 and not cup_follows(index + 1, row)
                if pending:
                    last_change = size - 1
                    first_change = last_change if first_change < 0 else first_change
                if first_change < 0:
                    col = end  # all of it is on screen already
                    continue
                piece = text[first_change : last_change + 1]
                col += first_change
                go()
                if piece.strip(" "):
                    sync(want)
                    emit(piece)
                    at_col += len(piece)
                else:
                    sync(for_blanks(term, want))
                    body = piece[:-1] if pending else piece
                    sent = self._blanks(body, col, exact, width, term)
                    emit(sent)
                    if sent is body:
                        at_col += len(body)  # (an erase leaves the cursor where it was)
                    if body is not piece:
                        col += len(body)
                        go()
                        emit(" ")
                        at_col += 1
                span = slice(start + first_change, start + last_change + 1)
                line_chars[span] = list(piece)
                line_looks[span] = [blank if char == " " else solid for char in piece]
                col = end
            else:
                go()
                sync(want)
                emit(text)
                # An escape sequence not parsed here may move the cursor, change cells
                # or restore a saved style (DECRC, leaving the alternate screen).
                lost()
                want = term = None
                self._forget_cells()
                chars, looks = self._chars, self._looks
        go()
        self._cursor = (row, col, exact)
        # Leave the terminal in the style the original would have: whatever is written
        # next (or the shell, after the app) may rely on it.
        sync(want)
        self._term = term
        return "".join(out)

    def _blanks(self, text: str, col: int, exact: bool, width: int, style: Style | None) -> str:
        """What to send for the blank cells ``text`` at column ``col`` drawn in ``style``:
        ``text`` itself, or an erase that leaves the cursor where it is."""
        run = len(text)
        if run < 4 or style is None or style.attrs & _VISIBLE_ON_BLANK:
            return text
        if style.bg and not self.bce:
            return text
        end = col + run - 1  # the last cell of the run
        if end > width:
            return text  # it would wrap: leave that to the terminal, as written
        erase = "\x1b[K" if end == width and exact else f"\x1b[{run}X"
        return erase if len(erase) < run else text
