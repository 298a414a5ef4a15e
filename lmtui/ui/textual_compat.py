"""Every use of Textual's private API, in one place, each checked against a Textual version.

Textual (pinned below 9 in pyproject.toml) offers no public way yet to do these
things; each function names the private hook it uses and the version it was read
in. ``tests/ui/test_textual_compat.py`` fails the day one of the hooks disappears
or changes shape, so an upgrade breaks a test here rather than the app.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from textual import events
from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

# The Textual release these hooks were read in (and tested against).
CHECKED_WITH = "8.2.8"


def declared_bindings(node: DOMNode) -> BindingsMap:
    """A copy of the bindings ``node`` declares (its class's and its bases'), in order.

    Private: ``DOMNode._bindings`` (8.2.8).
    """
    return node._bindings.copy()


def live_bindings(node: DOMNode) -> BindingsMap:
    """A copy of ``node``'s bindings with the app's keymap remaps applied.

    Private: ``DOMNode._bindings`` and ``App._keymap`` (8.2.8); the app applies the
    keymap to the same map when it dispatches keys.
    """
    bindings = declared_bindings(node)
    keymap = node.app._keymap
    if keymap:
        bindings.apply_keymap(keymap)
    return bindings


def bindings_for_key(node: DOMNode, key: str) -> tuple[Binding, ...]:
    """The bindings ``node`` has for ``key`` (keymap remaps included, as dispatched).

    Private: ``DOMNode._bindings.key_to_bindings`` (8.2.8).
    """
    return tuple(node._bindings.key_to_bindings.get(key, ()))


def app_keymap(app: App[Any]) -> dict[str, str]:
    """The keymap the app runs with (binding id → keys). Private: ``App._keymap`` (8.2.8)."""
    return dict(app._keymap)


def action_enabled(app: App[Any], action: str, node: DOMNode) -> bool | None:
    """What ``check_action`` says for ``action`` on ``node`` (False: off, None: dimmed).

    Private: ``App._check_action_state`` (8.2.8), which resolves namespaces as the
    footer does.
    """
    return app._check_action_state(action, node)


# The screen's paints are at most this far apart (Textual: 1/60 s). Its update timer
# skips ticks it missed: after a paint of 10-20 ms (a layout of a growing reply) the next
# one came 17-33 ms later, and a key typed meanwhile waited for it. At 1/120 s: 8-17 ms.
SCREEN_UPDATE_SECONDS = 1 / 120


def install_screen_update_period() -> None:
    """Let screens paint up to every :data:`SCREEN_UPDATE_SECONDS` (screens made after this).

    A screen paints only when something changed, so an idle app paints no more often.
    Private: ``textual.screen.UPDATE_PERIOD``, read when a screen makes its update
    timer (8.2.8).
    """
    import textual.screen

    textual.screen.UPDATE_PERIOD = SCREEN_UPDATE_SECONDS  # type: ignore[misc]


def follows_end(widget: Widget) -> bool:
    """True when the scrolling container around ``widget`` keeps its end in view.

    That is: the nearest ancestor that scrolls vertically is anchored (``anchor()``)
    and the user has not scrolled it away since. Private: ``Widget._anchor_released``
    (8.2.8; ``is_anchored`` stays True after a release).
    """
    for node in widget.ancestors:
        if isinstance(node, Widget) and node.styles.overflow_y in ("auto", "scroll"):
            return node.is_anchored and not node._anchor_released
    return False


if TYPE_CHECKING:
    _WidgetMixin = Widget
else:
    _WidgetMixin = object  # a plain mixin: a Widget base would bring Widget's default CSS


class QuietResize(_WidgetMixin):
    """A widget whose resize is painted once, by the layout that resized it.

    When a layout changes a widget's size, Textual (8.x) paints the new layout and
    then, because the widget's ``virtual_size`` changed, lays it out and paints it
    a second time; the layout has already marked the old and new regions, so the
    repeat is skipped (docs/rendering.md has the measurements).

    Private: ``Widget._size_updated(size, virtual_size, container_size, layout)`` and
    ``Widget._repaint_regions`` (8.2.8).
    """

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        changed = super()._size_updated(size, virtual_size, container_size, layout=False)
        if changed and layout:
            # Lay out again as Textual would (a scrollbar may come or go), minus the repaint.
            self._repaint_regions.clear()
            self.refresh(layout=True, repaint=False)
        return changed


# ---- Alt+Enter sent as ESC CR / ESC LF (issue 16) -----------------------------------
# tmux, screen and most terminals over SSH send Alt+Enter as ESC followed by CR (or LF).
# Textual's input parser knows no such sequence: it keeps reading, so the keys typed
# after it are swallowed into a "sequence", then replayed as `^` plus a plain Enter,
# which sent the half-written prompt. Read both as the key "alt+enter".
# (Shift+Enter under the kitty keyboard protocol, `CSI 13;2u`, Textual already parses.)

ALT_ENTER_SEQUENCES = frozenset({"\x1b\r", "\x1b\n"})


def install_alt_enter() -> None:
    """Teach Textual's terminal input parser ESC CR and ESC LF as Alt+Enter (idempotent).

    Private: ``textual._xterm_parser.XTermParser._sequence_to_key_events`` (8.2.8).
    """
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


# ---- Mouse: button-only tracking, and turning it off at run time (issue 16) ----------
# Textual asks the terminal for any-motion tracking (mode 1003): every hover over a cell
# sends bytes (965 for 61 cells over SSH in one test). Clicks, the wheel and drags need
# only modes 1000 + 1002 (+ 1006 for SGR coordinates). Many SSH users also want the
# terminal's own selection, so mouse reporting can be switched off and on again.

MOUSE_ON = "\x1b[?1000h\x1b[?1002h\x1b[?1006h"  # buttons, drags, SGR coordinates
MOUSE_OFF = "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l"


def install_button_only_mouse() -> None:
    """Make Textual's Linux driver ask for button and drag events, never bare motion.

    Private: ``LinuxDriver._enable_mouse_support``, ``_disable_mouse_support`` and
    ``Driver._mouse`` (8.2.8).
    Idempotent.
    """
    from textual.drivers.linux_driver import LinuxDriver

    if getattr(LinuxDriver._enable_mouse_support, "lmtui_button_only", False):
        return

    def enable_mouse_support(self: LinuxDriver) -> None:
        if not self._mouse:
            return
        self.write(MOUSE_ON)
        self.flush()

    def disable_mouse_support(self: LinuxDriver) -> None:
        # Every mode either side may have set, 1002 included, so none outlives the app.
        if not self._mouse:
            return
        self.write(MOUSE_OFF)
        self.flush()

    enable_mouse_support.lmtui_button_only = True  # type: ignore[attr-defined]
    LinuxDriver._enable_mouse_support = enable_mouse_support  # type: ignore[method-assign]
    LinuxDriver._disable_mouse_support = disable_mouse_support  # type: ignore[method-assign]


def set_mouse(app: App[Any], enabled: bool) -> bool:
    """Turn the terminal's mouse reporting on or off now; False when there is no terminal.

    Off stays off across a suspend (the $EDITOR round trip) until turned on again.
    Private: ``App._driver``, ``Driver._mouse``, ``LinuxDriver._enable_mouse_support``
    and ``_disable_mouse_support`` (8.2.8).
    """
    driver: Any = app._driver
    if driver is None or not hasattr(driver, "_enable_mouse_support"):
        return False
    if enabled:
        driver._mouse = True
        driver._enable_mouse_support()
    else:
        driver._disable_mouse_support()
        driver._mouse = False
    return True


# ---- end of the mouse block ----------------------------------------------------------


# ---- Tall widgets in the layout's spatial map (issue 19) -----------------------------
# Textual files every placed widget under each 100×20 cell of a grid its region covers,
# at every layout. A 5 MB reply is ~150,000 rows tall: its message and its text each
# went under ~7,500 cells per layout (a streaming reply is laid out twice a second),
# so the layout cost grew with the reply (40 ms+ per layout, keys waiting behind it).
# The map may answer a query with extra values (its callers keep only the placements
# that overlap), so a region taller than TALL_ROWS is kept in one list, always answered.

TALL_ROWS = 400


def install_tall_region_map() -> None:
    """Keep regions taller than :data:`TALL_ROWS` out of the spatial map's grid (idempotent).

    Private: ``textual._spatial_map.SpatialMap.insert``, its ``_fixed`` list (values
    every query returns) and ``total_region`` (8.2.8).
    """
    from textual._spatial_map import SpatialMap

    original: Any = SpatialMap.insert
    if getattr(original, "lmtui_tall", False):
        return

    def insert(self: SpatialMap[Any], regions_and_values: Iterable[Any]) -> None:
        short: list[Any] = []
        total_region = self.total_region
        for item in regions_and_values:
            region, _offset, fixed, overlay, value = item
            if fixed or region.height <= TALL_ROWS:
                short.append(item)
                continue
            if not overlay:
                total_region = total_region.union(region)
            self._fixed.append(value)  # returned by every query; culled by its callers
        self.total_region = total_region
        original(self, short)

    insert.lmtui_tall = True  # type: ignore[attr-defined]
    SpatialMap.insert = insert  # type: ignore[method-assign]


# ---- end of the tall-region block ----------------------------------------------------


# ---- A terminal that goes away: the output thread survives its failed writes -----------
# When the pty closes under the app (a dropped SSH session, a killed terminal), every
# write fails. Textual's output thread dies on the first failure; the event loop then
# blocks for ever on the thread's full queue, so nothing else runs, not even the hangup
# handler, while the input thread spins on end-of-file.


class _TerminalOutput:
    """The file Textual's output thread writes to, minus the failures of a lost terminal.

    The first failed write or flush calls ``on_lost`` (once; from the output thread) and
    every later write is dropped, so the thread keeps emptying its queue.
    """

    def __init__(self, file: Any, on_lost: Any) -> None:
        self._target = file
        self._on_lost = on_lost
        self.lost = False

    def _failed(self) -> None:
        if not self.lost:
            self.lost = True
            self._on_lost()

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                return int(self._target.write(text))
            except (OSError, ValueError):  # EIO/EPIPE, or the file closed under us
                self._failed()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._target.flush()
            except (OSError, ValueError):
                self._failed()

    def fileno(self) -> int:
        return int(self._target.fileno())

    def isatty(self) -> bool:
        return bool(self._target.isatty())


def install_terminal_loss_guard(on_lost: Any) -> None:
    """Make Textual's output thread outlive a lost terminal, calling ``on_lost()`` then.

    ``on_lost`` is called once per output thread, from that thread: it must not block
    (the event loop may be waiting on this very thread). Idempotent: a second call only
    replaces the callback. Private: ``textual.drivers._writer_thread.WriterThread`` and
    its ``_file`` (8.2.8).
    """
    from textual.drivers._writer_thread import WriterThread

    global _on_terminal_lost
    _on_terminal_lost = on_lost
    original: Any = WriterThread.__init__
    if getattr(original, "lmtui_guarded", False):
        return

    def __init__(self: WriterThread, file: Any) -> None:
        original(self, file)
        self._file = _TerminalOutput(file, lambda: _on_terminal_lost())

    __init__.lmtui_guarded = True  # type: ignore[attr-defined]
    WriterThread.__init__ = __init__  # type: ignore[method-assign]


_on_terminal_lost: Any = None


# ---- end of the terminal loss block ---------------------------------------------------


# ---- Compact output: every write to the terminal through an OutputCompressor (issue 19) -
# Textual writes each run of cells as a full style + text + reset and blanks as spaces;
# over SSH those bytes are most of the link's traffic. The Linux driver's write is the
# one place all of it passes (lmtui/ui/output_compressor.py rewrites it, same screen).


def install_compact_output() -> None:
    """Pass what Textual's Linux driver writes through its app's ``output_compressor``.

    An app opts in by setting ``output_compressor`` (an :class:`OutputCompressor`, one
    per app: it follows that terminal's state); other apps write as Textual does.
    The terminal's size is read from the driver's output file for each write. Should
    the compressor ever fail, the app falls back to Textual's output. Idempotent.
    Private: ``Driver._app`` and ``LinuxDriver._file`` (8.2.8).
    """
    from textual.drivers.linux_driver import LinuxDriver

    from lmtui.ui.output_compressor import OutputCompressor

    original: Any = LinuxDriver.write
    if getattr(original, "lmtui_compact", False):
        return

    def write(self: LinuxDriver, data: str) -> None:
        compressor = getattr(self._app, "output_compressor", None)
        if not isinstance(compressor, OutputCompressor):
            original(self, data)
            return
        try:
            width, height = os.get_terminal_size(self._file.fileno())
        except (AttributeError, OSError, ValueError):
            width = height = 0  # no size: only styles are rewritten
        try:
            compact = compressor.compress(data, width, height)
        except Exception:
            # A bug here must not cost the screen: Textual's own output from now on.
            self._app.output_compressor = None
            compact = data
        original(self, compact)

    write.lmtui_compact = True  # type: ignore[attr-defined]
    LinuxDriver.write = write  # type: ignore[method-assign]


# ---- end of the compact output block -------------------------------------------------


class _KeepsNothing:
    """Stands in for a :class:`Strip`'s caches of derived strips: it keeps nothing."""

    __slots__ = ()

    def get(self, key: object, default: object = None) -> object:
        return default

    def __setitem__(self, key: object, value: object) -> None:
        return None


_KEEPS_NOTHING = _KeepsNothing()
# The caches Strip (Textual 8) fills with the strips derived from it: each a FIFOCache and
# its dict, and each derived strip seven caches more. tests/ui/test_textual_compat.py
# checks the names against Strip's slots, so an upgrade that renames them fails there.
STRIP_DERIVED_CACHES = (
    "_divide_cache",
    "_crop_cache",
    "_style_cache",
    "_filter_cache",
    "_line_length_cache",
    "_crop_extend_cache",
    "_offsets_cache",
)


class HeldStrip(Strip):
    """A line kept for long (a drawn chunk of a reply): it caches nothing derived from it.

    A plain Strip keeps seven caches of the strips Textual derives from it when it is
    painted (cropped, styled, divided), each of those seven more: a painted row of a
    long reply is then dozens of objects that every full garbage collection walks. A
    held line is painted a few times at most; deriving again costs microseconds.
    """

    __slots__ = ()

    def __init__(self, segments: Iterable[Segment], cell_length: int | None = None) -> None:
        self._segments = list(segments)
        self._cell_length = cell_length
        for name in STRIP_DERIVED_CACHES:
            setattr(self, name, _KEEPS_NOTHING)
        self._render_cache = None
        self._link_ids = None
        self._cell_count = None
