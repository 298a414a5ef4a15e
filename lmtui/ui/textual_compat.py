"""Every use of Textual's private API, in one place, each checked against a Textual version.

Textual (pinned below 9 in pyproject.toml) offers no public way yet to do these
things; each function names the private hook it uses and the version it was read
in. ``tests/ui/test_textual_compat.py`` fails the day one of the hooks disappears
or changes shape, so an upgrade breaks a test here rather than the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.geometry import Size
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
