"""Textual's per-widget line cache, marking dirty only the lines it holds (for very tall widgets).

Textual keeps each widget's painted lines in a ``StylesCache`` and, whenever the
widget is refreshed or resized, marks every line of the region dirty: a set of one
integer per row. A 5 MB reply is ~100,000 rows tall, and so are the containers
around it; each layout while it streams (several a second) built and cleared such
sets, ~7 ms each, for the few dozen rows on screen. A line the cache does not hold
is drawn anyway, so marking only the held lines of a region dirty repaints the same
lines at a cost bounded by the lines painted since the cache was last cleared.

The cache itself is bounded too: it kept every line painted since it was last cleared
(a reply streaming at the bottom of a tall widget paints new rows all the time), each
line a strip with seven caches of its own, all walked by every full garbage collection.
Past :data:`HELD_LINES_MAX` lines, those far from the rows just painted are dropped;
a dropped line is drawn again when painted, as any line the cache does not hold.

Private: ``textual._styles_cache.StylesCache.set_dirty``, ``render_widget`` and its
``_cache`` and ``_dirty_lines`` (8.2.8). tests/ui/test_huge_reply.py checks the behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual._styles_cache import StylesCache
from textual.geometry import Region

if TYPE_CHECKING:
    from textual.strip import Strip
    from textual.widget import Widget

# A widget's cache holds at most about this many painted lines (a few screens).
HELD_LINES_MAX = 256
_render_widget = StylesCache.render_widget


def set_dirty_held_lines(self: StylesCache, *regions: Region) -> None:
    """Mark the held lines within ``regions`` dirty; no regions: clear the cache."""
    if not regions:
        self.clear()
        return
    held = self._cache
    for region in regions:
        lines = region.line_range
        if len(lines) > len(held):
            self._dirty_lines.update(y for y in held if y in lines)
        else:
            self._dirty_lines.update(lines)


def render_widget_bounded(self: StylesCache, widget: Widget, crop: Region) -> list[Strip]:
    """Textual's ``render_widget``, then drop held lines far from ``crop`` past the bound."""
    strips: list[Strip] = _render_widget(self, widget, crop)
    held = self._cache
    if len(held) > HELD_LINES_MAX:
        margin = (HELD_LINES_MAX - crop.height) // 2
        near = range(crop.y - margin, crop.bottom + margin)
        for y in [y for y in held if y not in near]:
            del held[y]
    return strips


def install_tall_styles_cache() -> None:
    """Make every widget's line cache mark only the lines it holds dirty, and bound it.

    Idempotent.
    """
    current: Any = StylesCache.set_dirty
    if current is not set_dirty_held_lines:
        StylesCache.set_dirty = set_dirty_held_lines  # type: ignore[method-assign]
        StylesCache.render_widget = render_widget_bounded  # type: ignore[method-assign]
