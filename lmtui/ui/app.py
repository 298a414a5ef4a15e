"""The chat app: model sidebar | conversation | composer, a status line and a footer."""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker, WorkerCancelled, WorkerError, WorkerFailed

from lmtui.backend.errors import LmtuiError, NoModelLoaded
from lmtui.backend.types import ApiLevel, ContentDelta, Model, ReasoningDelta
from lmtui.services.chat import ChatSession, Reply
from lmtui.services.clients import Client, client_for
from lmtui.services.inspector import RequestLog
from lmtui.services.jit import read_jit
from lmtui.services.models import list_models, model_after_switch
from lmtui.services.reply_extras import answer_findings
from lmtui.services.servers import ServerRegistry
from lmtui.services.setup import choose_chat_setup, open_history
from lmtui.store.config import Config
from lmtui.store.profiles import DEFAULT, LOCAL
from lmtui.ui.attach import AttachmentChips, AttachScreen, load_image, parse_path
from lmtui.ui.chat_view import ChatView
from lmtui.ui.composer import Composer
from lmtui.ui.keymap import APP_ACTIONS, ActionsProvider, help_rows, known_key_ids
from lmtui.ui.message import MessageWidget
from lmtui.ui.model_admin_ui import ModelAdmin
from lmtui.ui.native_actions import NativeActions
from lmtui.ui.notifications import InertNotifications
from lmtui.ui.sidebar import ModelSidebar
from lmtui.ui.status import StatusLine
from lmtui.ui.stream_render import FRAME_SECONDS, StreamRenderer
from lmtui.ui.themes import apply_theme, default_theme_for_env, register_themes

if TYPE_CHECKING:
    from lmtui.store.history import HistoryStore
    from lmtui.store.presets import Preset
    from lmtui.ui.param_panel import ParamResult
    from lmtui.ui.workbench.common import OpenConversation

SIDEBAR_MIN_WIDTH = 100
NEW_DRAFT_KEY = "new"
_AUTO: Any = object()
# Actions that belong to the chat screen: off while another screen (a modal, the
# history browser, a workbench tool) is on top, so its keys reach that screen.
MAIN_SCREEN_ACTIONS = frozenset(
    {
        "stop",
        "regenerate",
        "continue_reply",
        "new_chat",
        "focus_message",
        "attach_image",
        "toggle_sidebar",
        "focus_models",
        "choose_preset",
        "save_preset",
        "edit_params",
        "troubleshoot",
        "open_history",
        "change_theme",
        "workbench",
        "open_workbench_tool",
        "switch_server",
        "inspect_message",
        "choose_reasoning",
    }
)
HISTORY_OFF = "History is off (save_history = false, or it could not be opened)."


class LmtuiApp(InertNotifications, NativeActions):
    """Keyboard-driven chat with an LM Studio or OpenAI-compatible server."""

    CSS_PATH = "app.tcss"
    TITLE = "lmtui"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in APP_ACTIONS]

    def __init__(
        self,
        cfg: Config,
        *,
        server_label: str | None = None,
        note: str = "",
        unreachable: tuple[str, str] | None = None,
        history: HistoryStore | None = _AUTO,
        conversation_id: int | None = None,
        servers_cfg: Config | None = None,
        embedded_url: str | None = None,
    ) -> None:
        """``servers_cfg`` is the config the server profiles come from when ``cfg`` was
        rewritten for the embedded server, whose URL is ``embedded_url``."""
        super().__init__()
        self._theme_errors = register_themes(self)
        self.cfg = cfg
        self._note = note
        self._unreachable = unreachable
        self._history_arg = history
        self._conversation_id = conversation_id
        self.history: HistoryStore | None = None
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
        self.session = ChatSession(
            self.client, model=cfg.model, preset=cfg.preset, server_label=self.server_label
        )
        self.session.native_mode = cfg.native_chat  # type: ignore[assignment]
        self._image_urls: dict[Path, str] = {}  # attached file -> data URL
        self._stream_worker: Worker[None] | None = None
        self._renderer: StreamRenderer | None = None
        self._frame_timer: Timer | None = None
        self._frames = 0
        self._stream_started = 0.0
        self._sidebar_user_choice: bool | None = None
        self._wide: bool | None = None
        self._first_delta: float | None = None
        self._draft_key = NEW_DRAFT_KEY
        self.model_admin = ModelAdmin(
            self,
            client=lambda: self.client,
            sidebar=lambda: self.sidebar,
            status=lambda: self.status,
            changed=lambda: self.refresh_models(choose=not self.session.model),
        )

    # ---- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ModelSidebar(id="sidebar")
            with Vertical(id="chat-column"):
                yield ChatView(id="chat")
                yield AttachmentChips(id="attachments")
                yield Composer(id="composer")
        yield StatusLine(id="status")
        yield Footer(id="footer", compact=True)

    @property
    def chat(self) -> ChatView:
        """The conversation pane."""
        return self.query_one("#chat", ChatView)

    @property
    def composer(self) -> Composer:
        """The prompt box."""
        return self.query_one("#composer", Composer)

    @property
    def status(self) -> StatusLine:
        """The status line."""
        return self.query_one("#status", StatusLine)

    @property
    def sidebar(self) -> ModelSidebar:
        """The model list."""
        return self.query_one("#sidebar", ModelSidebar)

    @property
    def streaming(self) -> bool:
        """True while a reply is being generated."""
        return self._stream_worker is not None and not self._stream_worker.is_finished

    async def on_mount(self) -> None:
        self._apply_keymap()
        theme_error = apply_theme(self, self.cfg.theme or default_theme_for_env(os.environ))
        for problem in [*self._theme_errors, *([theme_error] if theme_error else [])]:
            self.notify(problem, severity="warning", timeout=10, markup=False)
        for warning in self._warnings:
            self.notify(warning, severity="warning", timeout=10, markup=False)
        self._warnings.clear()
        self.status.set(
            server=self.server_label,
            server_ok=None if self._unreachable is None else False,
            model=self.session.model or "",
            preset=self.cfg.preset or "",
            note=self._note,
        )
        self._open_history()
        if self._conversation_id is not None:
            await self.open_conversation(self._conversation_id)
        else:
            self._restore_draft()
        self.composer.focus()
        self._apply_width(self.size.width)
        if self._unreachable is not None:
            message, remedy = self._unreachable
            self.sidebar.set_error(message, remedy)
            self.notify(f"{message}\n{remedy}", severity="error", timeout=10, markup=False)
        else:
            self.refresh_models(choose=True)

    async def on_unmount(self) -> None:
        self._save_draft_now()
        await self.registry.close_all()
        if self._own_client is not None:
            await self._own_client.aclose()
        if self.history is not None:
            close = getattr(self.history, "close", None)
            if callable(close):
                close()

    def _apply_keymap(self) -> None:
        keys = dict(self.cfg.keys)
        if not keys:
            return
        unknown = sorted(set(keys) - known_key_ids())
        if unknown:
            self.notify(
                f"config [keys]: unknown action(s) {', '.join(unknown)} — see docs/keys.md",
                severity="warning",
                markup=False,
            )
        self.set_keymap(keys)

    # ---- history and drafts ---------------------------------------------------

    def _open_history(self) -> None:
        if not self.cfg.save_history:
            self.history = None
            return
        if self._history_arg is not _AUTO:
            self.history = self._history_arg
        else:
            self.history, error = open_history()
            if error:
                self.status.set(warning=f"history off: {error}")
        self.session.history = self.history

    async def open_conversation(self, conversation_id: int) -> None:
        """Show a conversation from history and continue it (the last messages are mounted)."""
        if self.streaming:
            self.notify("Still generating — Esc stops it first.", severity="warning")
            return
        self._save_draft_now()
        session = self._new_session()
        try:
            session.load(conversation_id)
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self.session = session
        self._draft_key = f"conv:{conversation_id}"
        self._finish_editing()
        self.composer.clear()
        self._restore_draft()
        self.status.set(model=session.model or "")
        await self.chat.show(session.entries)

    def _new_session(self) -> ChatSession:
        old = self.session
        session = ChatSession(
            self.client,
            model=old.model,
            system_prompt=old.system_prompt,
            params=old.params,
            preset=old.preset,
            history=self.history,
            server_label=self.server_label,
        )
        session.native_mode = old.native_mode
        session.reasoning = old.reasoning
        session.integrations = old.integrations
        return session

    def _restore_draft(self) -> None:
        if self.history is None:
            return
        try:
            text = self.history.load_draft(self._draft_key)
        except (LmtuiError, OSError) as exc:
            self.status.set(warning=f"draft not restored: {exc}")
            return
        if text:
            self.composer.set_text(text)

    def _save_draft(self, text: str, key: str | None = None) -> None:
        if self.history is None:
            return
        try:
            self.history.save_draft(key or self._draft_key, text)
        except (LmtuiError, OSError) as exc:
            self.status.set(warning=f"draft not saved: {exc}")

    def _save_draft_now(self) -> None:
        try:
            composer = self.composer
        except Exception:  # already torn down
            return
        self._save_draft(composer.flush_draft())

    @on(Composer.DraftChanged)
    def _draft_changed(self, event: Composer.DraftChanged) -> None:
        self._save_draft(event.text)

    async def action_quit(self) -> None:
        """Save the draft and leave."""
        self._save_draft_now()
        self.exit(0)

    # ---- models ---------------------------------------------------------------

    @work(group="models", exclusive=True, exit_on_error=False)
    async def refresh_models(self, choose: bool = False) -> None:
        """List the server's models into the sidebar; optionally pick one to chat with."""
        try:
            models = await list_models(self.client)
        except LmtuiError as exc:
            self.sidebar.set_error(exc.message, exc.remedy)
            self.status.set(server_ok=False)
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self.status.set(server_ok=True)
        await self._show_models(models)
        if choose and (self.cfg.preset or not self.session.model):
            await self._choose_setup()

    async def _show_models(self, models: list[Model]) -> None:
        """Put ``models`` in the sidebar with what the server offers (load over its API, JIT)."""
        caps = self.client.capabilities
        try:
            jit = (await read_jit(self.client)).setting
        except LmtuiError:
            jit = "unknown"
        self.sidebar.set_models(
            models,
            active=self.session.model,
            can_load=bool(caps and caps.has(ApiLevel.NATIVE_V1)),
            jit=jit,
        )
        self.sidebar.set_ttl(self.session.params.ttl)

    async def _choose_setup(self) -> None:
        cfg = self.cfg.with_overrides(model=self.session.model)
        try:
            setup = await choose_chat_setup(self.client, cfg)
        except NoModelLoaded:
            if self.sidebar.jit == "on":
                note = "nothing loaded — pick a model (F2): LM Studio loads it on first use"
            elif self.sidebar.can_load:
                note = "no model loaded — pick one in the sidebar (F2) and load it (l)"
            else:  # no /api/v1: lmtui cannot load, so it does not offer to
                note = "no model loaded — load one with `lms load <model>` or in LM Studio"
            self.status.set(note=note)
            return
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self.session.model = setup.model
        self.session.system_prompt = setup.system_prompt
        self.session.params = setup.params
        self.session.preset = setup.preset_name
        self.session.reasoning = setup.reasoning  # type: ignore[assignment]
        self.session.integrations = setup.integrations
        self.status.set(model=setup.model, preset=setup.preset_name or "")
        self.sidebar.set_active(setup.model)
        self.sidebar.set_ttl(setup.params.ttl)
        if setup.note:
            self.status.set(note=setup.note)
            self.notify(f"Model: {setup.model} — {setup.note}", markup=False)

    @on(ModelSidebar.ModelSelected)
    def _model_selected(self, event: ModelSidebar.ModelSelected) -> None:
        self.session.model = event.model.id
        self.sidebar.set_active(event.model.id)
        note = "" if event.model.loaded is not False else "not loaded: the server may load it"
        self.status.set(model=event.model.id, note=note)
        self.composer.focus()

    @on(ModelSidebar.RefreshRequested)
    def _refresh_requested(self) -> None:
        self.refresh_models(choose=not self.session.model)

    # Load (L), unload (U) and download (D) live in ui/model_admin_ui.py.

    @on(ModelSidebar.LoadRequested)
    def _load_requested(self, event: ModelSidebar.LoadRequested) -> None:
        self.model_admin.open_load(event.model)

    @on(ModelSidebar.UnloadRequested)
    def _unload_requested(self, event: ModelSidebar.UnloadRequested) -> None:
        self.model_admin.unload(event.model, event.instance_ids)

    @on(ModelSidebar.DownloadRequested)
    def _download_requested(self) -> None:
        self.model_admin.open_download()

    def action_load_model(self) -> None:
        """Open the load dialog for the highlighted model (palette)."""
        model = self.sidebar.highlighted_model
        if model is None:
            self.notify("Highlight a model in the sidebar (F2) first.", markup=False)
            return
        self.model_admin.open_load(model)

    def action_download_model(self) -> None:
        """Open the download dialog (palette)."""
        self.model_admin.open_download()

    def action_refresh_models(self) -> None:
        """List the models again."""
        self.refresh_models(choose=not self.session.model)

    # ---- sending --------------------------------------------------------------

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        text = event.text
        if text.lstrip().startswith("/image"):
            self._attach_path(text.strip()[len("/image") :].strip())
            self.composer.clear()
            return
        if self.streaming:
            self.notify("Still generating — Esc stops it first.", severity="warning")
            return
        if not self.session.model:
            self.notify(
                "No model chosen: pick one in the sidebar (F2) or start with --model.",
                severity="error",
            )
            return
        editing = self.composer.editing_index
        try:
            if editing is not None:
                reply = self.session.edit_and_resend(editing, text)
            else:
                images = tuple(self._image_urls[p] for p in self.chips.paths)
                reply = self.session.send(text, images=images)
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self._finish_editing()
        self.composer.clear()
        self._save_draft("", NEW_DRAFT_KEY if editing is None else None)
        if editing is not None:
            await self.chat.sync(self.session.entries)
            widget = self.chat.widget_for(self.session.entries[editing])
            if widget is not None:
                await widget.reload()
        else:
            self.chips.clear()
            self._image_urls.clear()
            await self.chat.add(self.session.entries[-2])
        await self._start_stream(reply)

    async def _start_stream(self, reply: Reply) -> None:
        """Show the reply's widget and consume its events into it in a worker."""
        widget = self.chat.widget_for(reply.entry) or await self.chat.add(reply.entry)
        self.chat.anchor()
        self._stream_worker = self._consume(reply, widget)

    @work(group="stream", exclusive=True, exit_on_error=False)
    async def _consume(self, reply: Reply, widget: MessageWidget) -> None:
        renderer = widget.start_stream()
        self._renderer = renderer
        self._stream_started = time.monotonic()
        self._first_delta = None
        self._frames = 0
        self._frame_timer = self.set_interval(FRAME_SECONDS, self._frame)
        try:
            async for event in reply:
                if isinstance(event, ContentDelta):
                    renderer.add_content(event.text)
                elif isinstance(event, ReasoningDelta):
                    renderer.add_reasoning(event.text)
                else:
                    await widget.native_event(event)
                    continue
                if self._first_delta is None:
                    self._first_delta = time.monotonic()
        except LmtuiError as exc:
            widget.remedy = exc.remedy
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
        except Exception as exc:  # never lose the partial reply to an unexpected error
            widget.entry.error = f"unexpected error: {exc}"
            self.notify(f"Unexpected error: {exc}", severity="error", markup=False)
        finally:
            await reply.aclose()
            await self._end_stream(widget)

    async def _frame(self) -> None:
        renderer = self._renderer
        if renderer is None:
            return
        await renderer.flush()
        self._frames += 1
        if self._frames % 8 == 0:
            self.status.set(speed=self._live_speed(renderer))

    def _live_speed(self, renderer: StreamRenderer) -> str:
        if self._first_delta is None:
            return f"waiting {time.monotonic() - self._stream_started:.1f} s"
        elapsed = time.monotonic() - self._first_delta
        if elapsed <= 0:
            return ""
        return f"{renderer.deltas / elapsed:.1f} tok/s"

    async def _end_stream(self, widget: MessageWidget) -> None:
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None
        self._renderer = None
        await widget.finish_stream()
        entry = widget.entry
        speed = ""
        stats = entry.extras.server_stats
        if stats is not None and stats.tokens_per_second:
            speed = f"last {stats.tokens_per_second:.1f} tok/s (LM Studio)"
        elif entry.server_timings is not None and entry.server_timings.tokens_per_second:
            speed = f"last {entry.server_timings.tokens_per_second:.1f} tok/s"
        elif entry.client_timings is not None and entry.client_timings.tokens_per_second:
            speed = f"last {entry.client_timings.tokens_per_second:.1f} tok/s"
        self.status.set(speed=speed)
        if self.session.history_error:
            self.status.set(warning=self.session.history_error)
        if self.session.conversation_id is not None:
            self._draft_key = f"conv:{self.session.conversation_id}"
        if entry.extras.load_progress is not None:
            self.refresh_models()  # LM Studio loaded (or began loading) a model for this reply
        self.refresh_bindings()

    @property
    def on_main_screen(self) -> bool:
        """True when the chat screen is the one on top (no modal or tool screen over it)."""
        return self.screen is self.screen_stack[0]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim actions that cannot apply now (Esc passes through when idle).

        Chat actions are off while another screen is on top: Esc there closes that
        screen instead of stopping a reply that is streaming underneath.
        """
        if action in MAIN_SCREEN_ACTIONS and not self.on_main_screen:
            return False
        if action == "stop":
            return True if self.streaming else None
        if action in ("regenerate", "continue_reply", "delete_message", "new_chat"):
            return None if self.streaming else True
        return True

    def action_stop(self) -> None:
        """Stop the reply being generated; its partial text stays, marked stopped."""
        worker = self._stream_worker
        if worker is None or worker.is_finished:
            raise SkipAction()
        worker.cancel()

    async def action_new_chat(self) -> None:
        """Start a new conversation (the old one stays in history)."""
        if self.streaming:
            return
        self._save_draft_now()
        self.session = self._new_session()
        self._draft_key = NEW_DRAFT_KEY
        self._finish_editing()
        self.composer.clear()
        self._restore_draft()
        await self.chat.show([])
        self.composer.focus()

    # ---- composer extras ------------------------------------------------------

    @on(Composer.EditorRequested)
    async def _editor_requested(self, event: Composer.EditorRequested) -> None:
        await self.action_external_editor()

    async def action_external_editor(self) -> None:
        """Edit the prompt in $VISUAL / $EDITOR."""
        from lmtui.ui.editor import edit_externally

        result: Any = edit_externally(self, self.composer.text)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            self.composer.set_text(result)
        self.composer.focus()

    def action_attach_image(self) -> None:
        """Ask for an image path to attach to the next prompt."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._attach_image(path)

        self.push_screen(AttachScreen(), chosen)

    def _attach_path(self, raw: str) -> None:
        if not raw:
            self.notify("Usage: /image PATH", severity="warning")
            return
        self._attach_image(parse_path(raw))

    def _attach_image(self, path: Path) -> None:
        try:
            url = load_image(path)
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self._image_urls[path] = url
        self.chips.add(path)
        self.notify(f"Attached {path.name}; it goes with your next prompt.", markup=False)

    def action_remove_attachment(self) -> None:
        """Drop the image attached last."""
        self.chips.remove_last()

    @property
    def chips(self) -> AttachmentChips:
        """The images attached to the next prompt."""
        return self.query_one("#attachments", AttachmentChips)

    # ---- view -----------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        wanted = width >= SIDEBAR_MIN_WIDTH
        if wanted != self._wide:
            self._wide = wanted
            self._sidebar_user_choice = None  # crossing the threshold resets a manual toggle
        if self._sidebar_user_choice is not None:
            wanted = self._sidebar_user_choice
        self.sidebar.display = wanted

    def action_toggle_sidebar(self) -> None:
        """Show or hide the model list."""
        self._sidebar_user_choice = not self.sidebar.display
        self.sidebar.display = self._sidebar_user_choice
        focused = self.focused
        if not self.sidebar.display and focused is not None and self.sidebar in focused.ancestors:
            self.composer.focus()

    def action_focus_models(self) -> None:
        """Show the model list and move focus there."""
        if not self.sidebar.display:
            self._sidebar_user_choice = True
            self.sidebar.display = True
        self.sidebar.focus_list()

    def action_help(self) -> None:
        """Show every key."""
        from lmtui.ui.help import HelpScreen

        self.push_screen(HelpScreen(help_rows(self.cfg.keys)))

    # ---- screens: presets, parameters, history, health, theme, workbench ------

    def _warn(self, text: str) -> None:
        """A warning from the server registry (shown once the app is running)."""
        if self.is_running:
            self.notify(text, severity="warning", timeout=10, markup=False)
        else:
            self._warnings.append(text)

    def _error(self, exc: LmtuiError) -> None:
        text = f"{exc.message}\n{exc.remedy}" if exc.remedy else exc.message
        self.notify(text, severity="error", markup=False)

    def _current_preset(self) -> Preset | None:
        if not self.session.preset:
            return None
        from lmtui.store.presets import load_presets

        return load_presets().get(self.session.preset)

    def action_choose_preset(self) -> None:
        """Pick a preset for this conversation (F3)."""
        from lmtui.store.presets import load_presets
        from lmtui.ui.preset_picker import PresetPicker

        def chosen(preset: Preset | None) -> None:
            if preset is not None:
                self._apply_preset(preset)

        self.push_screen(PresetPicker(load_presets(), current=self.session.preset), chosen)

    @work(group="preset", exclusive=True, exit_on_error=False)
    async def _apply_preset(self, preset: Preset) -> None:
        """Apply ``preset`` to the conversation; its model is chosen from the server's list."""
        from lmtui.services.presets_apply import apply_preset

        try:
            models = await list_models(self.client)
        except LmtuiError as exc:
            models = self.sidebar.models
            self.status.set(warning=f"models not listed: {exc.message}")
        reason = apply_preset(self.session, preset, models, self.cfg.integrations)
        self.status.set(model=self.session.model or "", preset=preset.name, note=reason)
        self.sidebar.set_active(self.session.model)
        self.sidebar.set_ttl(self.session.params.ttl)
        self.notify(f"Preset '{preset.name}'. {reason}", markup=False)

    def action_save_preset(self) -> None:
        """Save the conversation's model, system prompt and parameters as a preset."""
        from lmtui.ui.preset_picker import PresetEditor

        def saved(preset: Preset | None) -> None:
            if preset is not None:
                self.session.preset = preset.name
                self.status.set(preset=preset.name)
                self.notify(f"Saved preset '{preset.name}' to {preset.path}", markup=False)

        editor = PresetEditor.from_current(
            self.session.preset or "",
            self.session.system_prompt,
            self.session.model,
            self.session.params,
        )
        self.push_screen(editor, saved)

    def action_edit_params(self) -> None:
        """Edit the conversation's sampling parameters and system prompt (F4)."""
        from lmtui.ui.param_panel import ParamPanel

        preset = self._current_preset()

        def saved(result: ParamResult | None) -> None:
            if result is None:
                return
            self.session.params = result.params
            self.sidebar.set_ttl(result.params.ttl)
            self.session.system_prompt = result.system_prompt
            self.notify("Parameters saved: the next request uses them.")

        panel = ParamPanel(
            self.session.params,
            preset=preset.params if preset is not None else None,
            system_prompt=self.session.system_prompt,
            preset_name=preset.name if preset is not None else None,
        )
        self.push_screen(panel, saved)

    def action_open_history(self) -> None:
        """Browse and search saved conversations (F6); Enter opens one."""
        if self.history is None:
            self.notify(HISTORY_OFF, severity="warning")
            return
        from lmtui.ui.history_browser import HistoryBrowser

        async def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                await self.open_conversation(conversation_id)

        self.push_screen(HistoryBrowser(self.history), chosen)

    async def on_open_conversation(self, event: OpenConversation) -> None:
        """A workbench tool (semantic search) asks to open a conversation."""
        # Handled by name, so the workbench is not imported until it is opened.
        await self.open_conversation(event.conversation_id)

    def action_troubleshoot(self) -> None:
        """Server health, loaded models, findings and the last requests (F5)."""
        from lmtui.ui.troubleshoot import TroubleshootScreen

        self.push_screen(
            TroubleshootScreen(
                self.client,
                self.request_log,
                model=self.session.model,
                with_token=self.sends_token,
                reply_findings=answer_findings([e.answer_note for e in self.session.entries]),
            )
        )

    @property
    def sends_token(self) -> bool:
        """True when the client in use sends an API token."""
        if self._own_client is not None and self.client is self._own_client:
            return bool(self.cfg.api_token)
        return bool(self.registry.active.token)

    def action_change_theme(self) -> None:
        """Choose a theme, previewing each one (F7); Enter keeps it in config.toml."""
        from lmtui.ui.theme_picker import ThemePicker

        self.push_screen(ThemePicker(config_file=self.cfg.path))

    def action_workbench(self) -> None:
        """The workbench tools (F8): completions, embeddings, search, compare, batch, structured."""
        from lmtui.ui.workbench import workbench_screens
        from lmtui.ui.workbench_menu import WorkbenchMenu

        tools = [(tool, title) for tool, (title, _) in workbench_screens().items()]

        def chosen(tool: str | None) -> None:
            if tool is not None:
                self.action_open_workbench_tool(tool)

        self.push_screen(WorkbenchMenu(tools), chosen)

    def action_open_workbench_tool(self, tool: str) -> None:
        """Open one workbench tool by id (see ``workbench_screens``)."""
        self._open_tool(tool)

    @work(group="workbench", exclusive=True, exit_on_error=False)
    async def _open_tool(self, tool: str) -> None:
        from lmtui.ui.workbench import open_tool

        models = self.sidebar.models
        if not models:
            try:
                models = await list_models(self.client)
            except LmtuiError as exc:
                self.status.set(warning=f"models not listed: {exc.message}")
        extra: dict[str, Any] = {}
        if tool in ("semantic_search", "compare") and self.history is not None:
            extra["history"] = self.history
        open_tool(self, tool, self.client, models, default_model=self.session.model, **extra)

    # ---- servers --------------------------------------------------------------

    def action_switch_server(self) -> None:
        """List the server profiles with their health (Alt+S); Enter switches."""
        from lmtui.ui.server_switcher import ServerSwitcher

        def chosen(name: str | None) -> None:
            if name is not None:
                self.switch_server(name)

        self.push_screen(ServerSwitcher(self.registry), chosen)

    async def _stop_streaming(self) -> None:
        """Stop a streaming reply and wait until its partial text is kept, marked stopped."""
        worker = self._stream_worker
        if worker is None or worker.is_finished:
            return
        worker.cancel()
        with contextlib.suppress(WorkerCancelled, WorkerFailed, WorkerError):
            await worker.wait()

    @work(group="switch-server", exclusive=True, exit_on_error=False)
    async def switch_server(self, name: str) -> None:
        """Talk to profile ``name`` from now on (a streaming reply is stopped first).

        The conversation goes on with the new server; its model is kept when the new
        server has it, else the profile's model or a loaded one is chosen (and said).
        """
        try:
            client = self.registry.client(name)
        except LmtuiError as exc:
            self._error(exc)
            return
        await self._stop_streaming()
        self.workers.cancel_group(self, "models")
        profile = self.registry.switch(name)
        self.client = client
        self.session.client = client
        self.session.server_label = name
        self.server_label = name
        self.status.set(server=name, server_ok=None, speed="", note=f"switched to {name}")
        self.sidebar.set_busy(f"Listing {name}'s models…")
        try:
            models = await list_models(client)
        except LmtuiError as exc:
            self.sidebar.set_error(exc.message, exc.remedy or "")
            self.status.set(server_ok=False)
            self._error(exc)
            return
        finally:
            self.sidebar.set_busy(None)
        self.status.set(server_ok=True)
        kept = model_after_switch(
            self.session.model, models, profile_model=profile.model, server=name
        )
        self.session.model = kept.model_id
        note = kept.note
        await self._show_models(models)
        self.status.set(model=self.session.model or "", note=note)
        self.notify(note[:1].upper() + note[1:], markup=False)
