"""The keys of the chat screen and its widgets: tables that make their bindings.

Each binding has a stable ``id`` so ``[keys]`` in ``config.toml`` can remap it
(``App.set_keymap``). Help and the command palette list the bindings the classes
declare (:func:`keyed_classes`) and name the keys the running app dispatches for
them (:func:`lmtui.ui.help.live_keys`), so a remapped key shows everywhere and a
new binding needs no second list; the check of ``[keys]`` reads the declared ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


@dataclass(frozen=True, slots=True)
class KeyAction:
    """One user action: its id, default key(s), the action string and where it applies."""

    id: str
    key: str
    action: str
    description: str
    group: str
    show: bool = False
    priority: bool = False
    key_display: str | None = None
    short: str = ""  # footer label, when shorter than the description

    def binding(self) -> Binding:
        """The Textual binding for this action."""
        return Binding(
            self.key,
            self.action,
            self.short or self.description,
            show=self.show,
            tooltip=self.description,
            priority=self.priority,
            id=self.id,
            key_display=self.key_display,
        )


# Keys that work on every screen (bound on the app).
GLOBAL_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("help", "f1", "help", "Help: all keys", "View", show=True, short="Help"),
)

# Keys that work anywhere on the chat screen (bound on ChatScreen, so off under other screens).
CHAT_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "stop", "escape", "stop", "Stop generating", "Chat", show=True, priority=True, short="Stop"
    ),
    KeyAction(
        "regenerate",
        "ctrl+r",
        "regenerate",
        "Regenerate last reply",
        "Chat",
        show=True,
        short="Regen",
    ),
    KeyAction("continue", "ctrl+o", "continue_reply", "Continue last reply", "Chat"),
    KeyAction("new_chat", "ctrl+n", "new_chat", "New chat", "Chat"),
    KeyAction(
        "focus_previous_message",
        "ctrl+up,alt+up",
        "focus_message(-1)",
        "Focus previous message",
        "Messages",
        show=True,
        short="Messages",
        key_display="^↑",
    ),
    KeyAction(
        "focus_next_message",
        "ctrl+down,alt+down",
        "focus_message(1)",
        "Focus next message",
        "Messages",
    ),
    KeyAction("attach_image", "ctrl+g", "attach_image", "Attach an image", "Composer"),
    KeyAction(
        "toggle_sidebar",
        "ctrl+b",
        "toggle_sidebar",
        "Show/hide models",
        "View",
        show=True,
        short="Models",
    ),
    KeyAction("focus_models", "f2", "focus_models", "Go to the model list", "View"),
    # Priority: the composer's TextArea binds F6 (select line) and F7 (select all) itself.
    KeyAction(
        "preset",
        "f3",
        "choose_preset",
        "Choose a preset",
        "Chat",
        show=True,
        priority=True,
        short="Preset",
    ),
    KeyAction(
        "params",
        "f4",
        "edit_params",
        "Parameters and system prompt",
        "Chat",
        priority=True,
        short="Params",
    ),
    KeyAction(
        "health", "f5", "troubleshoot", "Troubleshooting: server health", "View", priority=True
    ),
    KeyAction("history", "f6", "open_history", "History: browse and search", "View", priority=True),
    KeyAction("theme", "f7", "app.change_theme", "Change theme", "View", priority=True),
    KeyAction("workbench", "f8", "workbench", "Workbench tools", "View", priority=True),
    KeyAction("servers", "alt+s", "switch_server", "Switch server", "View", priority=True),
    KeyAction(
        "rename", "alt+t", "rename_conversation", "Rename this conversation", "Chat", priority=True
    ),
    KeyAction(
        "export",
        "alt+x",
        "export_conversation",
        "Export this conversation (Markdown or JSON)",
        "Chat",
        priority=True,
    ),
    KeyAction(
        "mouse",
        "alt+m",
        "app.toggle_mouse",
        "Mouse on/off (off: the terminal selects text)",
        "View",
        priority=True,
    ),
    KeyAction(
        "reasoning",
        "alt+r",
        "choose_reasoning",
        "Reasoning: off / low / medium / high / on",
        "Chat",
        priority=True,
        short="Think",
    ),
)

# Keys of the composer (the prompt box). Not priority bindings: the composer runs them
# itself, in order with the characters typed before them (see Composer._on_key).
COMPOSER_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("send", "enter", "submit", "Send", "Composer", show=True),
    KeyAction("newline", "ctrl+j,alt+enter,shift+enter", "newline", "Insert a newline", "Composer"),
    KeyAction("external_editor", "ctrl+e", "external_editor", "Edit in $EDITOR", "Composer"),
    KeyAction("select_all", "ctrl+a", "select_all", "Select all the prompt text", "Composer"),
    KeyAction(
        "clear_prompt", "ctrl+l", "clear_prompt", "Clear the prompt (Ctrl+Z undoes)", "Composer"
    ),
    KeyAction(
        "cancel_edit", "escape", "screen.cancel_edit", "Cancel editing a sent prompt", "Composer"
    ),
)

# Keys that act on the focused message (move there with ctrl+up).
MESSAGE_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "copy_message",
        "c",
        "screen.copy_message",
        "Copy message",
        "Messages",
        show=True,
        short="Copy",
    ),
    KeyAction(
        "copy_code",
        "y",
        "screen.copy_code",
        "Copy last code block",
        "Messages",
    ),
    KeyAction(
        "edit_message",
        "e",
        "screen.edit_message",
        "Edit and resend",
        "Messages",
        show=True,
        short="Edit",
    ),
    KeyAction(
        "regenerate_message",
        "r",
        "screen.regenerate",
        "Regenerate reply",
        "Messages",
    ),
    KeyAction(
        "continue_message",
        "n",
        "screen.continue_reply",
        "Continue reply",
        "Messages",
    ),
    KeyAction(
        "delete_message",
        "d,delete",
        "screen.delete_message",
        "Delete message",
        "Messages",
        show=True,
        short="Del",
    ),
    KeyAction(
        "toggle_reasoning", "t", "screen.toggle_reasoning", "Show/hide reasoning", "Messages"
    ),
    KeyAction(
        "toggle_tool_calls", "o", "screen.toggle_tool_calls", "Show/hide tool calls", "Messages"
    ),
    KeyAction("inspect_message", "x", "screen.inspect_message", "Inspect request", "Messages"),
    KeyAction("message_up", "up,k", "screen.focus_message(-1)", "Previous message", "Messages"),
    KeyAction("message_down", "down,j", "screen.focus_message(1)", "Next message", "Messages"),
    KeyAction(
        "back_to_composer", "i,escape", "screen.focus_composer", "Back to prompt", "Messages"
    ),
)

# Actions offered in the command palette, with the action string run for each.
PALETTE_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("Copy last reply", "copy_message", "Copy the focused or last message"),
    ("Copy last code block", "copy_code", "Copy the last code block of the focused/last reply"),
    ("Edit last prompt and resend", "edit_message", "Load your last prompt into the composer"),
    ("Delete focused message", "delete_message", "Remove it from the conversation"),
    ("Show/hide reasoning", "toggle_reasoning", "Of the focused or last reply"),
    ("Show older messages", "show_older", "Mount older messages of a long chat"),
    ("Inspect last request", "inspect_message", "What was sent and received, as curl/Python"),
    ("Save current settings as preset", "save_preset", "Model, system prompt and parameters"),
    ("Refresh models", "refresh_models", "List the server's models again"),
    ("Load highlighted model…", "load_model", "With options: context, batch, KV cache (L)"),
    ("Download a model…", "download_model", "By catalog id or Hugging Face URL (D)"),
    ("Remove last attachment", "remove_attachment", "Drop the image attached last"),
    ("Quit", "quit", "Save the draft and leave"),
)


# Keys of the model list in the sidebar.
SIDEBAR_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "sidebar.load",
        "l,L",
        "load",
        "Load the highlighted model (options, another instance)",
        "Models",
        show=True,
        short="Load",
    ),
    KeyAction(
        "sidebar.unload",
        "u",
        "unload",
        "Unload the highlighted instance",
        "Models",
        show=True,
        short="Unload",
    ),
    KeyAction(
        "sidebar.download",
        "D",
        "download",
        "Download a model (runs on while you chat)",
        "Models",
        show=True,
        short="Download",
    ),
    KeyAction(
        "sidebar.refresh", "r", "refresh", "Refresh the list", "Models", show=True, short="Refresh"
    ),
    KeyAction(
        "sidebar.filter",
        "slash",
        "focus_filter",
        "Filter models",
        "Models",
        key_display="/",
        short="Filter",
    ),
)


def all_actions() -> tuple[KeyAction, ...]:
    """Every keyed action of the chat screen's tables, global first."""
    return GLOBAL_ACTIONS + CHAT_ACTIONS + COMPOSER_ACTIONS + MESSAGE_ACTIONS + SIDEBAR_ACTIONS


_KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "delete": "Del",
    "up": "↑",
    "down": "↓",
    "slash": "/",
}


def display_key(key: str, keymap: dict[str, str] | None = None, action_id: str = "") -> str:
    """A short human form of a key list such as ``ctrl+up,alt+up`` (keymap remaps applied)."""
    if keymap and action_id in keymap:
        key = keymap[action_id]
    shown = []
    for combo in key.split(","):
        *mods, name = combo.strip().split("+")
        name = _KEY_NAMES.get(name, name)
        if mods or (name.startswith("f") and name[1:].isdigit()):
            name = name.upper() if len(name) <= 3 else name
        shown.append("+".join([*(m.capitalize() for m in mods), name]))
    return " / ".join(shown)


def key_for(action_id: str, keymap: dict[str, str] | None = None) -> str:
    """The key(s) of action ``action_id`` as a hint should name them (remaps applied)."""
    action = next(a for a in all_actions() if a.id == action_id)
    return display_key(action.key, keymap, action.id)


def keyed_classes() -> list[type[DOMNode]]:
    """The app, screens and widgets whose bindings a user may remap, in help order.

    Every binding they declare has an id (a test says so); ``[keys]`` accepts
    exactly these ids, and help lists them.
    """
    # Imported here: those modules import this one for their tables.
    from lmtui.ui.app import LmtuiApp
    from lmtui.ui.chat_screen import ChatScreen
    from lmtui.ui.composer import Composer
    from lmtui.ui.history_browser import HistoryBrowser
    from lmtui.ui.history_prompts import ExportPrompt, RenamePrompt
    from lmtui.ui.message import MessageWidget
    from lmtui.ui.sidebar import ModelSidebar

    return [
        ChatScreen,
        LmtuiApp,
        Composer,
        MessageWidget,
        ModelSidebar,
        HistoryBrowser,
        RenamePrompt,
        ExportPrompt,
    ]


def declared(cls: type[DOMNode]) -> list[Binding]:
    """The bindings ``cls`` itself declares (not its bases'), as Binding objects."""
    return [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]


_GROUPS = {a.id: a.group for a in all_actions()}
_DESCRIPTIONS = {a.id: a.description for a in all_actions()}


def _key_of(binding: Binding, keymap: dict[str, str] | None, live: dict[str, str] | None) -> str:
    """The keys of ``binding`` as shown: the running app's (``live``), else ``keymap``'s."""
    if live and binding.id and binding.id in live:
        return display_key(live[binding.id])
    return display_key(binding.key, keymap, binding.id or "")


def help_rows(
    keymap: dict[str, str] | None = None, live: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """``(key, description, group)`` rows for the chat's help screen, remaps applied.

    Read from the bindings of the chat screen, its widgets and the app; the history
    browser lists its own keys on its own screen. ``live`` maps binding ids to the
    keys the running app dispatches (:func:`lmtui.ui.help.live_keys`); a binding not
    in it (its widget not mounted) shows its declared key with ``keymap`` applied.
    """
    from lmtui.ui.history_browser import HistoryBrowser
    from lmtui.ui.history_prompts import ExportPrompt, RenamePrompt

    rows: list[tuple[str, str, str]] = []
    for cls in keyed_classes():
        if cls in (HistoryBrowser, RenamePrompt, ExportPrompt):
            continue
        group_title = getattr(cls, "BINDING_GROUP_TITLE", None) or "View"
        for binding in declared(cls):
            if binding.id is None or not (binding.description or binding.tooltip):
                continue
            description = _DESCRIPTIONS.get(binding.id) or binding.tooltip or binding.description
            group = _GROUPS.get(binding.id, group_title)
            rows.append((_key_of(binding, keymap, live), description, group))
    rows.append(("Enter", "Chat with the highlighted model", "Models"))
    rows.append(("Ctrl+P", "Command palette: every action by name", "View"))
    rows.append(("Ctrl+Q", "Quit (the draft is saved)", "View"))
    return rows


def palette_entries(live: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(title, action, help)`` for every action the palette offers on the chat screen.

    Actions are run with the chat screen as their namespace (``app.`` for the app's).
    ``live`` maps binding ids to the keys the running app dispatches, so a remapped
    key is the one named (without it, the declared keys).
    """
    from lmtui.ui.chat_screen import ChatScreen

    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for binding in declared(ChatScreen):
        description = _DESCRIPTIONS.get(binding.id or "", binding.tooltip or binding.description)
        group = _GROUPS.get(binding.id or "", "Chat")
        out.append((description, binding.action, f"{_key_of(binding, None, live)} · {group}"))
        seen.add(binding.action)
    for global_action in GLOBAL_ACTIONS:
        out.append(
            (
                global_action.description,
                f"app.{global_action.action}",
                _key_of(global_action.binding(), None, live),
            )
        )
    for title, action, text in PALETTE_EXTRA:
        if action not in seen:
            out.append((title, action, text))
            seen.add(action)
    out.append(("Open the external editor", "external_editor", "Ctrl+E in the composer"))
    from lmtui.ui.workbench import workbench_screens

    for tool, (title, _factory) in workbench_screens().items():
        out.append((title, f"open_workbench_tool({tool!r})", "F8 · Workbench"))
    return out


def known_key_ids() -> frozenset[str]:
    """Every binding id that ``[keys]`` in ``config.toml`` may remap."""
    return frozenset(b.id for cls in keyed_classes() for b in declared(cls) if b.id)


class ActionsProvider(Provider):
    """Command palette source listing every chat action."""

    def _entries(self) -> Iterable[tuple[str, str, str]]:
        from lmtui.ui.help import live_keys

        return palette_entries(live_keys(self.app))

    async def discover(self) -> Hits:
        """All actions, when nothing is typed yet."""
        for title, action, text in self._entries():
            yield DiscoveryHit(title, partial(self._run, action), help=text)

    async def search(self, query: str) -> Hits:
        """Actions whose title matches what is typed."""
        matcher = self.matcher(query)
        for title, action, text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=text)

    async def _run(self, action: str) -> None:
        # The screen the palette was opened over answers; "app." actions go to the app.
        await self.app.run_action(action, self.screen)
