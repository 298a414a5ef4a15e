"""The help screen: every key the app answers to, grouped, with keymap remaps applied."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from lmtui.ui.dialog import Dialog
from lmtui.ui.textual_compat import action_enabled, app_keymap, declared_bindings, live_bindings

Row = tuple[str, str, str]  # (key display, description, group)


def binding_rows(app: App[Any]) -> list[Row]:
    """Every described binding of the app, its screen and the app's own widgets on it.

    Hidden bindings (``show=False``) are included when they have a description;
    bindings whose ``check_action`` says False are left out, as the footer does.
    Keys come from the app's keymap when it remaps a binding id, and are shown with
    ``app.get_key_display`` so the help matches the footer. Textual's built-in widgets
    (inputs, lists) are skipped: their editing keys would bury the app's own.

    Call it with the screen to describe on top; an open ``HelpScreen`` is looked past.
    """
    screen = _described_screen(app)
    namespaces: list[tuple[DOMNode, str]] = [(app, app.BINDING_GROUP_TITLE or "General")]
    namespaces.append((screen, screen.BINDING_GROUP_TITLE or "Screen"))
    for node in screen.walk_children(with_self=False):
        if not type(node).__module__.startswith("textual."):
            namespaces.append((node, node.BINDING_GROUP_TITLE or _humanise(type(node).__name__)))

    keymap = app_keymap(app)
    keys_by_entry: dict[tuple[str, str, str], list[str]] = {}
    for node, group in namespaces:
        # A remapped binding moves to the end of the map; list it where it was declared.
        declared = {b.action: i for i, (_, b) in reversed(list(enumerate(declared_bindings(node))))}
        bindings_map = live_bindings(node) if keymap else declared_bindings(node)
        ordered = sorted(bindings_map, key=lambda kb: declared.get(kb[1].action, len(declared)))
        for _key, binding in ordered:
            if not binding.description or not _enabled(app, binding, node):
                continue
            entry = (group, binding.action, binding.description)
            shown = keys_by_entry.setdefault(entry, [])
            display = app.get_key_display(binding)
            if display not in shown:
                shown.append(display)
    return [
        (" ".join(keys), description, group)
        for (group, _action, description), keys in keys_by_entry.items()
    ]


def live_keys(app: App[Any]) -> dict[str, str]:
    """Binding id → the keys (``"ctrl+r,f5"``) the running ``app`` dispatches for it.

    Read from the live bindings, the keymap applied as Textual applies it: first each
    screen's public ``active_bindings`` (the focused chain and the app), then every
    widget mounted on the screens, focused or not (through :mod:`textual_compat`).
    Bindings without an id are left out.
    """
    keys: dict[str, list[str]] = {}

    def add(binding: Binding) -> None:
        if binding.id is None:
            return
        shown = keys.setdefault(binding.id, [])
        for key in binding.key.split(","):
            if key.strip() and key.strip() not in shown:
                shown.append(key.strip())

    for screen in app.screen_stack:
        for active in screen.active_bindings.values():
            add(active.binding)
    nodes: list[DOMNode] = [app]
    for screen in app.screen_stack:
        nodes.extend(screen.walk_children(with_self=True))
    for node in nodes:
        for _key, binding in live_bindings(node):
            add(binding)
    return {binding_id: ",".join(shown) for binding_id, shown in keys.items()}


def _described_screen(app: App[Any]) -> Screen[Any]:
    screens: list[Screen[Any]] = [s for s in app.screen_stack if not isinstance(s, HelpScreen)]
    return screens[-1] if screens else app.screen


def _enabled(app: App[Any], binding: Binding, node: DOMNode) -> bool:
    try:
        return action_enabled(app, binding.action, node) is not False
    except Exception:
        # An action naming a namespace that does not exist here: still worth listing.
        return True


def _humanise(class_name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", class_name).split()
    if not words:
        return class_name
    return " ".join([words[0], *(w.lower() for w in words[1:])])


class HelpScreen(Dialog[None]):
    """A scrollable list of keys by group; Esc, F1 or q closes it."""

    DEFAULT_CSS = """
    HelpScreen #help-body {
        height: auto;
        max-height: 100%;
        scrollbar-size-vertical: 1;
    }
    HelpScreen .help-group {
        height: auto;
        margin: 0 0 1 0;
    }
    HelpScreen #help-empty {
        color: $text-muted;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close help", id="help.close"),
    ]

    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog-box") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "Esc · F1 · q close"
            with VerticalScroll(id="help-body"):
                groups = self.grouped()
                if not groups:
                    yield Static("No keys to show.", id="help-empty")
                key_width = max((len(key) for key, _, _ in self.rows), default=0)
                for group, rows in groups:
                    yield Static(
                        _group_table(group, rows, min(key_width, 20)), classes="help-group"
                    )

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def grouped(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The rows as (group, [(key, description), ...]) in first-seen order."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for key, description, group in self.rows:
            groups.setdefault(group, []).append((key, description))
        return list(groups.items())

    def action_close(self) -> None:
        """Close the help screen."""
        self.dismiss(None)


def _group_table(group: str, rows: list[tuple[str, str]], key_width: int) -> Table:
    table = Table(
        title=Text(group, style="bold"),
        title_justify="left",
        show_header=False,
        box=None,
        padding=(0, 1, 0, 0),
        expand=True,
    )
    table.add_column(min_width=key_width, max_width=20, no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for key, description in rows:
        table.add_row(key, Text(description))
    return table
