"""Textual's private API is used only in ui/textual_compat.py; each hook it uses still exists."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import ClassVar

import textual
from textual import widgets
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

from lmtui.ui import textual_compat
from lmtui.ui.textual_compat import (
    CHECKED_WITH,
    action_enabled,
    app_keymap,
    bindings_for_key,
    declared_bindings,
    live_bindings,
)

UI = Path(textual_compat.__file__).parent


def _private_names(classes: set[type]) -> set[str]:
    """Single-underscore names the Textual classes among ``classes`` and their bases define."""
    names: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            if klass.__module__.startswith("textual."):
                names.update(n for n in vars(klass) if n.startswith("_") and not n.startswith("__"))
    return names


# Attributes Textual sets in __init__ are private API too (``_bindings``, ``_keymap``).
INSTANCE_PRIVATE = {
    n
    for instance in (Widget(), App(), widgets.TextArea())
    for n in vars(instance)
    if n.startswith("_") and not n.startswith("__")
}


def _uses(path: Path, module: object) -> set[str]:
    """Textual private names ``path`` uses: on ``self`` or defined in a class, by that class's
    own Textual bases; on any other object, by every Textual class the UI builds on."""
    everywhere = _private_names({App, Screen, Widget, DOMNode, BindingsMap}) | INSTANCE_PRIVATE
    found: set[str] = set()

    def visit(node: ast.AST, own: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                cls = getattr(module, child.name, None)
                bases = {cls} if inspect.isclass(cls) else set()
                visit(child, _private_names(bases) | INSTANCE_PRIVATE)
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name in own:
                found.add(child.name)  # overriding a private method is using it
            if isinstance(child, ast.Attribute):
                on_self = isinstance(child.value, ast.Name) and child.value.id == "self"
                if child.attr in (own if on_self else everywhere):
                    found.add(child.attr)
            visit(child, own)

    visit(ast.parse(path.read_text(encoding="utf-8")), set())
    return found


def test_private_textual_names_only_in_the_compat_module() -> None:
    import importlib

    found: dict[str, set[str]] = {}
    for path in sorted(UI.rglob("*.py")):
        if path.name == "textual_compat.py":
            continue
        name = "lmtui." + ".".join(path.relative_to(UI.parent).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))
        used = _uses(path, module)
        if used:
            found[str(path.relative_to(UI))] = used
    assert found == {}


def test_the_scan_finds_private_uses(tmp_path: Path) -> None:
    source = (
        "class Box(Widget):\n"
        "    def _size_updated(self): ...\n"
        "    def go(self):\n"
        "        self._bindings.copy()\n"
        "        self.app._keymap\n"
        "        self._mine\n"
    )
    sample = tmp_path / "sample_private_use.py"
    sample.write_text(source, encoding="utf-8")
    found = _uses(sample, type("M", (), {"Box": Widget}))
    assert found == {"_size_updated", "_bindings", "_keymap"}


def test_checked_against_the_installed_major_version() -> None:
    # A new major version: read each hook again, then raise CHECKED_WITH.
    assert textual.__version__.split(".")[0] == CHECKED_WITH.split(".")[0]


def test_the_private_hooks_still_exist_with_their_shape() -> None:
    assert "layout" in inspect.signature(Widget._size_updated).parameters
    assert isinstance(BindingsMap().key_to_bindings, dict) and hasattr(BindingsMap, "apply_keymap")
    assert isinstance(Widget()._bindings, BindingsMap) and isinstance(App()._keymap, dict)
    assert callable(App._check_action_state)
    # install_compact_output: the driver's app and output file.
    from textual.driver import Driver
    from textual.drivers.linux_driver import LinuxDriver

    assert "self._app = app" in inspect.getsource(Driver.__init__)
    assert "self._file =" in inspect.getsource(LinuxDriver.__init__)
    assert "data" in inspect.signature(LinuxDriver.write).parameters
    # install_screen_update_period and follows_end.
    import textual.screen

    assert isinstance(textual.screen.UPDATE_PERIOD, float)
    assert "UPDATE_PERIOD" in inspect.getsource(Screen)
    assert Widget()._anchor_released is False


class _Keyed(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "noop", "Do", id="keyed.do")]

    def action_noop(self) -> None:
        pass


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield _Keyed()


async def test_the_helpers_read_bindings_and_the_keymap() -> None:
    app = _Host()
    async with app.run_test() as pilot:
        app.set_keymap({"keyed.do": "b"})
        await pilot.pause()
        widget = app.query_one(_Keyed)
        assert [b.id for _, b in declared_bindings(widget)] == ["keyed.do"]
        assert [key for key, _ in live_bindings(widget)] == ["b"]
        assert app_keymap(app) == {"keyed.do": "b"}
        assert [b.action for b in bindings_for_key(widget, "a")] == ["noop"]
        assert action_enabled(app, "noop", widget) is True


def test_the_output_thread_outlives_a_lost_terminal() -> None:
    """Textual's WriterThread keeps its file in ``_file`` and writes through it: a terminal
    that fails every write is reported once and the thread keeps emptying its queue."""
    import errno
    import threading

    from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

    from lmtui.ui.textual_compat import install_terminal_loss_guard

    class Gone:
        def write(self, text: str) -> int:
            raise OSError(errno.EIO, "Input/output error")

        def flush(self) -> None:
            raise OSError(errno.EIO, "Input/output error")

        def fileno(self) -> int:
            return 1

    lost: list[str] = []
    install_terminal_loss_guard(lambda: lost.append(threading.current_thread().name))
    writer = WriterThread(Gone())  # type: ignore[arg-type]
    writer.start()

    def app_side() -> None:  # blocks for ever on the full queue once the thread has died
        for _ in range(MAX_QUEUED_WRITES * 3):
            writer.write("x" * 100)
        writer.stop()

    app = threading.Thread(target=app_side, daemon=True)
    app.start()
    app.join(30)
    assert not app.is_alive(), "the writes blocked: the output thread died"
    assert lost == ["textual-output"]


def test_a_held_strip_draws_as_a_strip_and_keeps_nothing_derived() -> None:
    from rich.segment import Segment
    from rich.style import Style
    from textual.strip import Strip

    from lmtui.ui.textual_compat import STRIP_DERIVED_CACHES, HeldStrip

    assert set(STRIP_DERIVED_CACHES) <= set(Strip.__slots__)  # the names Textual uses
    segments = [Segment("hello ", Style(bold=True)), Segment("world", Style(color="red"))]
    held, plain = HeldStrip(segments, 11), Strip(segments, 11)
    blue = Style(bgcolor="blue")

    def derived(strip: Strip) -> list[list[Segment]]:
        return [
            list(strip.crop(2, 8)),
            list(strip.apply_style(blue)),
            list(strip.crop_extend(0, 20, blue)),
            list(strip.adjust_cell_length(15, blue)),
            list(strip.apply_offsets(1, 2)),
            *(list(part) for part in strip.divide([3, 11])),
        ]

    assert derived(held) == derived(plain)
    assert derived(held) == derived(held)  # and again, from nothing kept
    assert held.text == plain.text and held.cell_length == plain.cell_length
    # The plain strip keeps what it derived; the held one keeps nothing.
    assert plain._crop_cache.get((2, 8)) is not None
    assert all(getattr(held, name).get((2, 8)) is None for name in STRIP_DERIVED_CACHES)


async def test_screens_paint_up_to_every_screen_update_period() -> None:
    # After a long paint (a reply's layout) Textual's update timer skipped to the next
    # tick but one: a key typed meanwhile waited 17-33 ms more at 60 frames a second.
    from lmtui.ui.textual_compat import SCREEN_UPDATE_SECONDS, install_screen_update_period

    install_screen_update_period()
    app = _Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.screen._update_timer._interval == SCREEN_UPDATE_SECONDS < 1 / 60


async def test_follows_end_while_the_scrolling_pane_is_anchored() -> None:
    from textual.containers import VerticalScroll

    from lmtui.ui.textual_compat import follows_end

    class Pane(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Widget(id="inside")
            yield Widget(id="outside")

    app = Pane()
    async with app.run_test() as pilot:
        inside = app.query_one("#inside")
        assert not follows_end(inside)  # not anchored
        app.query_one(VerticalScroll).anchor()
        assert follows_end(inside)
        app.query_one(VerticalScroll).release_anchor()  # the user scrolled up
        assert not follows_end(inside)
        assert not follows_end(app.query_one("#outside"))  # the screen itself: no anchor
        await pilot.pause()
