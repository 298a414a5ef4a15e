"""A selection list whose ticked rows read as ticked in any colours, NO_COLOR included.

Textual's ``SelectionList`` draws the same "X" for ticked and unticked rows and
tells them apart by colour only; here a ticked row shows ✓ and an unticked one a
blank box.
"""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets.option_list import OptionDoesNotExist

TICKED = "✓"
UNTICKED = " "

T = TypeVar("T")


class TickList(SelectionList[T]):
    """``SelectionList`` with ✓ for ticked rows and a blank box for the others."""

    def render_line(self, y: int) -> Strip:
        """The row as Textual draws it, with the box's mark saying ticked or not."""
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if len(segments) < 4:
            return strip
        mark = TICKED if option.value in self.selected else UNTICKED
        text, style, control = segments[1]
        segments[1] = Segment(mark * len(text), style, control)
        return Strip(segments, strip.cell_length)
