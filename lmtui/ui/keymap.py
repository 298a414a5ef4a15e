"""Every key of the chat screen: one table, used for bindings, the palette and help.

Each action has a stable ``id`` so ``[keys]`` in ``config.toml`` can remap it
(``App.set_keymap``). The same table feeds the command palette provider and
the F1 help screen, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


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


# Keys that work anywhere on the chat screen.
APP_ACTIONS: tuple[KeyAction, ...] = (
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
    KeyAction("help", "f1", "help", "Help: all keys", "View", show=True, short="Help"),
    # Priority: the composer's TextArea binds F6 (select line) and F7 (select all) itself.
    # The app turns these off while another screen is on top (LmtuiApp.check_action).
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
    KeyAction("theme", "f7", "change_theme", "Change theme", "View", priority=True),
    KeyAction("workbench", "f8", "workbench", "Workbench tools", "View", priority=True),
    KeyAction("servers", "alt+s", "switch_server", "Switch server", "View", priority=True),
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
    KeyAction("newline", "ctrl+j,alt+enter", "newline", "Insert a newline", "Composer"),
    KeyAction("external_editor", "ctrl+e", "external_editor", "Edit in $EDITOR", "Composer"),
    KeyAction(
        "cancel_edit", "escape", "app.cancel_edit", "Cancel editing a sent prompt", "Composer"
    ),
)

# Keys that act on the focused message (move there with ctrl+up).
MESSAGE_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "copy_message", "c", "app.copy_message", "Copy message", "Messages", show=True, short="Copy"
    ),
    KeyAction(
        "copy_code",
        "y",
        "app.copy_code",
        "Copy last code block",
        "Messages",
    ),
    KeyAction(
        "edit_message",
        "e",
        "app.edit_message",
        "Edit and resend",
        "Messages",
        show=True,
        short="Edit",
    ),
    KeyAction(
        "regenerate_message",
        "r",
        "app.regenerate",
        "Regenerate reply",
        "Messages",
    ),
    KeyAction(
        "continue_message",
        "n",
        "app.continue_reply",
        "Continue reply",
        "Messages",
    ),
    KeyAction(
        "delete_message",
        "d,delete",
        "app.delete_message",
        "Delete message",
        "Messages",
        show=True,
        short="Del",
    ),
    KeyAction("toggle_reasoning", "t", "app.toggle_reasoning", "Show/hide reasoning", "Messages"),
    KeyAction(
        "toggle_tool_calls", "o", "app.toggle_tool_calls", "Show/hide tool calls", "Messages"
    ),
    KeyAction("inspect_message", "x", "app.inspect_message", "Inspect request", "Messages"),
    KeyAction("message_up", "up,k", "app.focus_message(-1)", "Previous message", "Messages"),
    KeyAction("message_down", "down,j", "app.focus_message(1)", "Next message", "Messages"),
    KeyAction("back_to_composer", "i,escape", "app.focus_composer", "Back to prompt", "Messages"),
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


def all_actions() -> tuple[KeyAction, ...]:
    """Every keyed action, app first."""
    return APP_ACTIONS + COMPOSER_ACTIONS + MESSAGE_ACTIONS


_KEY_NAMES = {"escape": "Esc", "enter": "Enter", "delete": "Del", "up": "↑", "down": "↓"}


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


def help_rows(keymap: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(key, description, group)`` rows for the help screen."""
    rows = [(display_key(a.key, keymap, a.id), a.description, a.group) for a in all_actions()]
    rows += [
        ("l", "Load the highlighted model (options, another instance)", "Models"),
        ("u", "Unload the highlighted instance", "Models"),
        ("D", "Download a model (runs on while you chat)", "Models"),
        ("r", "Refresh the list", "Models"),
        ("/", "Filter models", "Models"),
        ("Enter", "Chat with the highlighted model", "Models"),
    ]
    rows.append(("Ctrl+P", "Command palette: every action by name", "View"))
    rows.append(("Ctrl+Q", "Quit (the draft is saved)", "View"))
    return rows


def palette_entries() -> list[tuple[str, str, str]]:
    """``(title, app action, help)`` for every action the palette offers."""
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for a in APP_ACTIONS:
        out.append((a.description, a.action, f"{display_key(a.key)} · {a.group}"))
        seen.add(a.action)
    for title, action, text in PALETTE_EXTRA:
        if action not in seen:
            out.append((title, action, text))
            seen.add(action)
    out.append(("Open the external editor", "external_editor", "Ctrl+E in the composer"))
    from lmtui.ui.workbench import workbench_screens

    for tool, (title, _factory) in workbench_screens().items():
        out.append((title, f"open_workbench_tool({tool!r})", "F8 · Workbench"))
    return out


# Binding ids of the model sidebar (lmtui.ui.sidebar), remappable through [keys] too.
SIDEBAR_KEY_IDS: tuple[str, ...] = (
    "sidebar.load",
    "sidebar.unload",
    "sidebar.download",
    "sidebar.refresh",
    "sidebar.filter",
)


def known_key_ids() -> frozenset[str]:
    """Every action id that ``[keys]`` in ``config.toml`` may remap."""
    from lmtui.ui.history_browser import KEY_IDS as HISTORY_KEY_IDS

    return frozenset([a.id for a in all_actions()] + list(SIDEBAR_KEY_IDS) + list(HISTORY_KEY_IDS))


class ActionsProvider(Provider):
    """Command palette source listing every chat action."""

    def _entries(self) -> Iterable[tuple[str, str, str]]:
        return palette_entries()

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
        await self.app.run_action(action)
