"""The app: what every screen shares — config, servers, history, themes, keys, request log.

The chat itself is :class:`~lmtui.ui.chat_screen.ChatScreen`, the app's default
screen; dialogs and tools are pushed over it. See docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import events
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import Model, SamplingParams
from lmtui.services.chat import ChatSession
from lmtui.services.clients import Client, client_for
from lmtui.services.inspector import RequestLog
from lmtui.services.models import list_models
from lmtui.services.servers import ServerRegistry
from lmtui.services.setup import capped, open_history
from lmtui.store.config import Config
from lmtui.store.profiles import DEFAULT, LOCAL
from lmtui.ui import history_writes
from lmtui.ui.chat_screen import ChatScreen
from lmtui.ui.gc_tuning import IdleSweep, freeze_startup_objects, thaw_objects
from lmtui.ui.history_writes import start_history_writes, unsaved_note
from lmtui.ui.keymap import GLOBAL_ACTIONS, ActionsProvider, help_rows, known_key_ids
from lmtui.ui.notices import notify_text
from lmtui.ui.notifications import InertNotifications
from lmtui.ui.output_compressor import OutputCompressor
from lmtui.ui.tall_styles_cache import install_tall_styles_cache
from lmtui.ui.terminfo import terminal_erases_with_background
from lmtui.ui.textual_compat import (
    install_alt_enter,
    install_button_only_mouse,
    install_compact_output,
    install_screen_update_period,
    install_tall_region_map,
    set_mouse,
)
from lmtui.ui.themes import apply_theme, default_theme_for_env, register_themes
from lmtui.ui.warm_up import WARM_UP_DELAY_SECONDS, start_warm_up

if TYPE_CHECKING:
    from lmtui.store.history import HistoryStore
    from lmtui.store.write_worker import WriteWorker
    from lmtui.ui.workbench.common import OpenConversation


class _History(enum.Enum):
    OPEN_DEFAULT = "open the history database in the data directory"


# ``history=`` default: open the user's history database (tests pass their own or None).
OPEN_DEFAULT_HISTORY: Literal[_History.OPEN_DEFAULT] = _History.OPEN_DEFAULT


class LmtuiApp(InertNotifications):
    """Keyboard-driven chat with an LM Studio or OpenAI-compatible server."""

    # Global style only; the chat screen's is chat_screen.tcss (its CSS_PATH).
    CSS_PATH = "no_color.tcss"
    TITLE = "lmtui"
    # The chat screen is installed by name and opened as the app's one mode, so Textual
    # loads its CSS_PATH (a default screen from get_default_screen() gets no CSS file).
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {"chat": "chat"}
    DEFAULT_MODE: ClassVar[str] = "chat"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in GLOBAL_ACTIONS]

    def __init__(
        self,
        cfg: Config,
        *,
        server_label: str | None = None,
        note: str = "",
        unreachable: tuple[str, str] | None = None,
        history: HistoryStore | Literal[_History.OPEN_DEFAULT] | None = OPEN_DEFAULT_HISTORY,
        conversation_id: int | None = None,
        servers_cfg: Config | None = None,
        embedded_url: str | None = None,
        start_new: bool = False,
    ) -> None:
        """Start with ``cfg``; ``unreachable`` is ``(message, remedy)`` when the server did not
        answer at launch, ``conversation_id`` a conversation to open. ``servers_cfg`` is the
        config the server profiles come from when ``cfg`` was rewritten for the embedded
        server, whose URL is ``embedded_url``; ``start_new`` skips reopening the last
        conversation."""
        # NO_COLOR: Textual then strips every colour to the terminal's default fg/bg
        # (its NoColor filter) instead of mapping them to grey, which drew black on black.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        install_alt_enter()
        install_button_only_mouse()
        install_tall_region_map()
        install_tall_styles_cache()
        install_screen_update_period()
        # Collects what full collections froze while replies streamed, once idle.
        self.idle_sweep = IdleSweep(self)
        # Fewer bytes for the same screen (docs/rendering.md); `compact_output = false` is
        # the way back to Textual's own output should a terminal disagree.
        self.output_compressor: OutputCompressor | None = None
        if cfg.compact_output:
            install_compact_output()
            self.output_compressor = OutputCompressor(
                bce=terminal_erases_with_background(os.environ)
            )
        self.mouse_on = cfg.mouse
        self.start_new = start_new
        self._theme_errors = register_themes(self)
        # Chosen before the first frame: a theme set once the screen is up restyles it all.
        theme_error = apply_theme(self, cfg.theme or default_theme_for_env(os.environ))
        if theme_error:
            self._theme_errors.append(theme_error)
        self.cfg = cfg
        self.keymap: dict[str, str] = dict(cfg.keys)
        self.note = note
        self.unreachable = unreachable
        self.conversation_id = conversation_id
        self._history_arg = history
        self.history: HistoryStore | None = None
        self.history_problem: str | None = None
        self._writes: WriteWorker | None = None  # history writes off the loop: on_mount
        self._chat_screen: ChatScreen | None = None
        self._early_models: asyncio.Future[list[Model]] | None = None  # see on_load
        self.first_frame_shown = False  # see on_ready
        #: One line when quitting left history writes unsaved (the database stayed locked).
        self.unsaved_on_exit: str | None = None
        self.request_log = RequestLog()
        self._warnings: list[str] = []
        self.registry = ServerRegistry.from_config(
            servers_cfg or cfg, on_exchange=self.request_log.record, on_warning=self._warn
        )
        if embedded_url:
            self.registry.set_embedded_url(embedded_url)
            self.registry.switch(LOCAL)
        self._own_client: Client | None = None
        try:
            self.client = self.registry.client()
        except LmtuiError:
            # Not a usable profile (the embedded one without a URL): talk to cfg's URL.
            self._own_client = client_for(cfg, on_exchange=self.request_log.record)
            self.client = self._own_client
        active = self.registry.active.name
        named = active != DEFAULT and (active != LOCAL or embedded_url is not None)
        self.server_label = server_label or (active if named else cfg.base_url)
        # The embedded server's small model loops: cap its replies unless a preset says otherwise.
        self.default_cap = cfg.local.max_tokens if embedded_url else None
        self._open_history()
        session = ChatSession(
            self.client,
            model=cfg.model,
            preset=cfg.preset,
            history=self.history,
            server_label=self.server_label,
            params=capped(SamplingParams(), self.default_cap),
        )
        session.native_mode = cfg.native_chat  # type: ignore[assignment]
        # Kept: at unmount the screen is uninstalled, and quitting may need its chat.
        self._chat_screen = ChatScreen(session, note=note)
        self.install_screen(self._chat_screen, "chat")

    # ---- the chat screen --------------------------------------------------------

    @property
    def chat_screen(self) -> ChatScreen:
        """The chat screen (at the bottom of the stack, under any dialog or tool)."""
        screen = self.get_screen("chat")
        assert isinstance(screen, ChatScreen)
        return screen

    @property
    def history_writer(self) -> WriteWorker | None:
        """The worker every history write of the TUI goes through (None: history is off)."""
        return self._writes

    def use_client(self, client: Client, server_label: str) -> None:
        """Talk through ``client`` (labelled ``server_label``) from now on."""
        self.client = client
        self.server_label = server_label

    @property
    def sends_token(self) -> bool:
        """True when the client in use sends an API token."""
        if self._own_client is not None and self.client is self._own_client:
            return bool(self.cfg.api_token)
        return bool(self.registry.active.token)

    # ---- start and end ------------------------------------------------------------

    def _open_history(self) -> None:
        if not self.cfg.save_history:
            self.history = None
        elif self._history_arg is not OPEN_DEFAULT_HISTORY:
            self.history = self._history_arg
        else:
            # Its history worker marks dead writers' replies interrupted: a locked
            # database then neither delays the start nor turns history off.
            self.history, self.history_problem = open_history(recover=False)
            if self.history is not None and self.history_problem:
                self._warnings.append(self.history_problem)  # read but not saved: a notice, once

    def on_load(self) -> None:
        # With no model named, the model id comes from the server's list: ask for it as
        # soon as the loop runs, while the chat screen is built, not once it is on screen.
        # (With a model named, the list waits for the screen: handling its answer would
        # delay the first frame, measured +10-25 ms, for a list nobody waits for.)
        if self.unreachable is None and not self.cfg.model:
            self._early_models = asyncio.ensure_future(list_models(self.client))

    def models_request(self, client: Client) -> Awaitable[list[Model]]:
        """The model list of ``client``: the request started at load if it was for this
        client and is not taken yet, else a new one. Raises ``LmtuiError`` when awaited,
        as :func:`~lmtui.services.models.list_models` does."""
        early, self._early_models = self._early_models, None
        if early is not None and client is self.client:
            return early
        if early is not None:
            early.cancel()
        return list_models(client)

    def on_mount(self) -> None:
        self._writes = start_history_writes(self, self.history, self._history_notice)
        self.chat_screen.attach_writer(self._writes)
        self._apply_keymap()
        for problem in self._theme_errors:
            notify_text(self, problem, severity="warning", timeout=10)
        for warning in self._warnings:
            notify_text(self, warning, severity="warning", timeout=10)
        self._warnings.clear()
        self.call_after_refresh(freeze_startup_objects)

    def on_ready(self) -> None:
        """The first frame is drawn: mount the messages of the conversation opened at start
        (see ChatScreenBase.open_conversation)."""
        self.first_frame_shown = True
        # Queued on the screen behind its first paint (during the start's batch update
        # the screen paints from its queue, so Ready can come before the paint).
        self.chat_screen.call_later(self.chat_screen.show_unshown)
        self.set_timer(WARM_UP_DELAY_SECONDS, lambda: start_warm_up(lambda: self.is_running))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent | events.Paste):
            self.idle_sweep.note_input()  # the user is here: no sweep now
        await super().on_event(event)

    def on_resize(self) -> None:
        # The terminal may have dropped or moved cells: the next frames are sent whole.
        if self.output_compressor is not None:
            self.output_compressor.forget()

    async def on_unmount(self) -> None:
        early = self._early_models
        if early is not None:  # never taken: the app ended before its screen asked
            if early.done() and not early.cancelled():
                early.exception()  # looked at, so asyncio does not report it at exit
            early.cancel()
        thaw_objects()
        await self.registry.close_all()
        if self._own_client is not None:
            await self._own_client.aclose()
        writes = self._writes
        if writes is not None:
            # What is still queued after EXIT_WAIT is not written: a reply already saved
            # once stays "streaming" with its last saved text and is marked interrupted
            # at the next start. launch() says on stderr how many writes were left.
            problem = writes.problem
            left = writes.close(timeout=history_writes.EXIT_WAIT)
            rescued = self._rescue_open_conversation() if left > 0 else None
            self.unsaved_on_exit = unsaved_note(left, writes.problem or problem, rescued)
        if self.history is not None:
            close = getattr(self.history, "close", None)
            if callable(close):
                close()

    def _rescue_open_conversation(self) -> str:
        """Write the chat on screen to a file to import; what to say about it ("" if empty)."""
        from lmtui.services.history_rescue import rescue_conversation

        history = self.history
        chat = self._chat_screen
        if history is None or chat is None:  # no history, or the chat was never made
            return ""
        try:
            path = rescue_conversation(chat.session, history.path.parent)
        except (LmtuiError, OSError) as exc:
            text = exc.message if isinstance(exc, LmtuiError) else str(exc)
            return f"the open conversation could not be kept in a file either: {text}"
        if path is None:
            return ""
        return f"the open conversation is kept in {path}: `lmtui history import {path}` adds it"

    def _history_notice(self, text: str, failing: bool) -> None:
        """The history writer's news: writes failing (and retried), or saved again."""
        notify_text(self, text, severity="warning" if failing else "information", timeout=10)
        status = self.chat_screen.status
        if failing:
            status.set(warning=text)
        elif status.warning.endswith(")") and "retrying (" in status.warning:
            status.set(warning="")

    def _apply_keymap(self) -> None:
        if not self.keymap:
            return
        unknown = sorted(set(self.keymap) - known_key_ids())
        if unknown:
            notify_text(
                self,
                f"config [keys]: unknown action(s) {', '.join(unknown)} — see docs/keys.md",
                severity="warning",
            )
        self.set_keymap(self.keymap)

    def _warn(self, text: str) -> None:
        """A warning from the server registry (shown once the app is running)."""
        if self.is_running:
            notify_text(self, text, severity="warning", timeout=10)
        else:
            self._warnings.append(text)

    async def action_quit(self) -> None:
        """Save the draft and leave."""
        self.chat_screen.save_draft_now()
        self.exit(0)

    async def on_open_conversation(self, event: OpenConversation) -> None:
        """A tool (semantic search) asks to open a conversation: the chat screen does it."""
        # Handled by name, so the workbench is not imported until it is opened.
        await self.chat_screen.open_conversation(event.conversation_id)

    # ---- global keys -------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key (F1), remaps included."""
        from lmtui.ui.help import HelpScreen, live_keys

        self.push_screen(HelpScreen(help_rows(self.keymap, live_keys(self))))

    def action_toggle_mouse(self) -> None:
        """Turn mouse reporting off (the terminal then selects text) or on again (Alt+M)."""
        if not set_mouse(self, not self.mouse_on):
            notify_text(self, "No terminal to change mouse reporting on.", severity="warning")
            return
        self.mouse_on = not self.mouse_on
        state = "on" if self.mouse_on else "off: select text with the terminal"
        notify_text(self, f"Mouse {state}.")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, minus those lmtui lists itself (Theme, Quit)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Theme", "Quit"):
                yield command

    def action_change_theme(self) -> None:
        """Choose a theme, previewing each one (F7); Enter keeps it in config.toml."""
        from lmtui.ui.theme_picker import ThemePicker

        self.push_screen(ThemePicker(config_file=self.cfg.path))
