"""The chat app: model sidebar | conversation | composer, a status line and a footer."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator
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
from textual.worker import Worker

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError, NoModelLoaded
from lmtui.backend.types import ContentDelta, Model, ReasoningDelta, StreamEvent
from lmtui.services.chat import STOPPED, STREAMING, ChatSession, Entry
from lmtui.services.setup import choose_chat_setup, open_history
from lmtui.store.config import Config
from lmtui.ui.attach import AttachmentChips, AttachScreen, load_image, parse_path
from lmtui.ui.chat_actions import ChatActions
from lmtui.ui.chat_view import ChatView
from lmtui.ui.composer import Composer
from lmtui.ui.keymap import APP_ACTIONS, ActionsProvider, all_actions, help_rows
from lmtui.ui.message import MessageWidget
from lmtui.ui.sidebar import ModelSidebar
from lmtui.ui.status import StatusLine
from lmtui.ui.stream_render import FRAME_SECONDS, StreamRenderer

if TYPE_CHECKING:
    from lmtui.store.history import HistoryStore

SIDEBAR_MIN_WIDTH = 100
NEW_DRAFT_KEY = "new"
_AUTO: Any = object()


class LmtuiApp(ChatActions):
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
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.server_label = server_label or cfg.base_url
        self._note = note
        self._unreachable = unreachable
        self._history_arg = history
        self._conversation_id = conversation_id
        self.history: HistoryStore | None = None
        self.client = LMStudioClient(
            cfg.base_url,
            cfg.api_token,
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
        )
        self.session = ChatSession(
            self.client, model=cfg.model, preset=cfg.preset, server_label=self.server_label
        )
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
        if self.cfg.theme and self.cfg.theme in self.available_themes:
            self.theme = self.cfg.theme
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
        await self.client.aclose()
        if self.history is not None:
            close = getattr(self.history, "close", None)
            if callable(close):
                close()

    def _apply_keymap(self) -> None:
        keys = dict(self.cfg.keys)
        if not keys:
            return
        known = {a.id for a in all_actions()}
        unknown = sorted(set(keys) - known - {"sidebar.load", "sidebar.unload", "sidebar.refresh"})
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
        return ChatSession(
            self.client,
            model=old.model,
            system_prompt=old.system_prompt,
            params=old.params,
            preset=old.preset,
            history=self.history,
            server_label=self.server_label,
        )

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
            models = await self.client.list_models()
        except LmtuiError as exc:
            self.sidebar.set_error(exc.message, exc.remedy)
            self.status.set(server_ok=False)
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self.status.set(server_ok=True)
        self.sidebar.set_models(models, active=self.session.model)
        if choose and (self.cfg.preset or not self.session.model):
            await self._choose_setup()

    async def _choose_setup(self) -> None:
        cfg = self.cfg.with_overrides(model=self.session.model)
        try:
            setup = await choose_chat_setup(self.client, cfg)
        except NoModelLoaded:
            self.status.set(note="no model loaded — pick one in the sidebar (F2) and load it (l)")
            return
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
            return
        self.session.model = setup.model
        self.session.system_prompt = setup.system_prompt
        self.session.params = setup.params
        self.session.preset = setup.preset_name
        self.status.set(model=setup.model, preset=setup.preset_name or "")
        self.sidebar.set_active(setup.model)
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

    @on(ModelSidebar.LoadRequested)
    def _load_requested(self, event: ModelSidebar.LoadRequested) -> None:
        self._load_model(event.model)

    @on(ModelSidebar.UnloadRequested)
    def _unload_requested(self, event: ModelSidebar.UnloadRequested) -> None:
        self._unload_model(event.model)

    @work(group="model-admin", exit_on_error=False)
    async def _load_model(self, model: Model) -> None:
        self.sidebar.set_busy(f"Loading {model.label}…")
        self.notify(f"Loading {model.id}…", markup=False)
        try:
            result = await self.client.load_model(model.id)
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
        else:
            took = f" in {result.load_time_s:.1f} s" if result.load_time_s else ""
            self.notify(f"Loaded {model.id}{took}", markup=False)
        finally:
            self.sidebar.set_busy(None)
        self.refresh_models(choose=not self.session.model)

    @work(group="model-admin", exit_on_error=False)
    async def _unload_model(self, model: Model) -> None:
        self.sidebar.set_busy(f"Unloading {model.label}…")
        try:
            for instance in model.instance_ids or (model.id,):
                await self.client.unload_model(instance)
        except LmtuiError as exc:
            self.notify(f"{exc.message}\n{exc.remedy}", severity="error", markup=False)
        else:
            self.notify(f"Unloaded {model.id}", markup=False)
        finally:
            self.sidebar.set_busy(None)
        self.refresh_models()

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
                events = self.session.edit_and_resend(editing, text)
            else:
                images = tuple(self._image_urls[p] for p in self.chips.paths)
                events = self.session.send(text, images=images)
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
            await self.chat.add(self.session.entries[-1])
        await self._start_stream(events, target_index=len(self.session.entries))

    async def _start_stream(
        self, events: AsyncIterator[StreamEvent], *, target_index: int | None
    ) -> None:
        """Show a reply widget and consume ``events`` into it in a worker."""
        if target_index is None:
            entry = self.session.entries[-1]
            widget = self.chat.widget_for(entry) or await self.chat.add(entry)
        else:
            placeholder = Entry(
                "assistant", "", model_requested=self.session.model, state=STREAMING
            )
            widget = await self.chat.add(placeholder)
        self.chat.anchor()
        self._stream_worker = self._consume(events, widget, target_index)

    @work(group="stream", exclusive=True, exit_on_error=False)
    async def _consume(
        self,
        events: AsyncIterator[StreamEvent],
        widget: MessageWidget,
        target_index: int | None,
    ) -> None:
        renderer = widget.start_stream()
        self._renderer = renderer
        self._stream_started = time.monotonic()
        self._first_delta = None
        self._frames = 0
        self._frame_timer = self.set_interval(FRAME_SECONDS, self._frame)
        entries = self.session.entries
        bound = target_index is None
        try:
            async for event in events:
                if not bound and target_index is not None and len(entries) > target_index:
                    widget.entry = entries[target_index]
                    bound = True
                if isinstance(event, ContentDelta):
                    renderer.add_content(event.text)
                elif isinstance(event, ReasoningDelta):
                    renderer.add_reasoning(event.text)
                else:
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
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            if not bound and target_index is not None and len(entries) > target_index:
                widget.entry = entries[target_index]
            elif not bound:
                widget.entry.state = STOPPED  # stopped before the request even started
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
        if entry.server_timings is not None and entry.server_timings.tokens_per_second:
            speed = f"last {entry.server_timings.tokens_per_second:.1f} tok/s"
        elif entry.client_timings is not None and entry.client_timings.tokens_per_second:
            speed = f"last {entry.client_timings.tokens_per_second:.1f} tok/s"
        self.status.set(speed=speed)
        if self.session.history_error:
            self.status.set(warning=self.session.history_error)
        if self.session.conversation_id is not None:
            self._draft_key = f"conv:{self.session.conversation_id}"
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim actions that cannot apply now (Esc passes through when idle)."""
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
