"""The chat screen's base: its layout, typed getters, the conversation, sending and streaming.

:class:`~lmtui.ui.chat_screen.ChatScreen` is assembled from this base and two
parts built on it, :class:`~lmtui.ui.message_actions.MessageActions` and
:class:`~lmtui.ui.chat_commands.ChatCommands`, so each file stays readable. Each
reply is streamed by the :class:`MessageWidget` that shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerError, WorkerFailed

from lmtui.backend.errors import LmtuiError
from lmtui.services.chat import ChatSession, Entry, Reply
from lmtui.services.setup import conversation_to_reopen
from lmtui.store.ui_state import last_open_conversation, remember_open_conversation
from lmtui.ui.attach import AttachmentChips, AttachScreen, load_image, parse_path
from lmtui.ui.chat_view import ChatView
from lmtui.ui.composer import Composer
from lmtui.ui.history_writes import queue_change
from lmtui.ui.message import MessageWidget
from lmtui.ui.notices import notify_error, notify_text
from lmtui.ui.sidebar import ModelSidebar
from lmtui.ui.status import StatusLine

if TYPE_CHECKING:
    from lmtui.store.write_worker import WriteWorker
    from lmtui.ui.app import LmtuiApp

# From this width on the model list shows beside the conversation.
SIDEBAR_MIN_WIDTH = 100
# The draft of a conversation not yet saved; saved ones use "conv:<id>".
NEW_DRAFT_KEY = "new"
# History writes wait (at most this long) while a reply's prompt and end are drawn: the
# writer thread took the interpreter from the loop at the end of fast replies (~4.5 ms,
# benchmarks/README.md "TUI ÷ wire", session 7). A longer reply's saves go on meanwhile.
HOLD_WRITES_SECONDS = 0.5
STILL_GENERATING = "Still generating — Esc stops it first."


class ChatScreenBase(Screen[None]):
    """The conversation with one server: its layout, its session, its streaming reply."""

    def __init__(self, session: ChatSession, *, note: str = "") -> None:
        super().__init__()
        self.session = session
        self._note = note
        self._image_urls: dict[Path, str] = {}  # attached file -> data URL
        self._stream_worker: Worker[None] | None = None
        self._sidebar_user_choice: bool | None = None
        self._wide: bool | None = None
        self._open_key = NEW_DRAFT_KEY  # whose draft the composer holds: "new" or "conv:ID"
        self._track_open = False  # recording starts once the start-up reopen is decided
        # An opened conversation's messages waiting for the first frame (see open_conversation).
        self._unshown: list[Entry] | None = None

    @property
    def lmtui(self) -> LmtuiApp:
        """The app, typed: config, servers, history, request log."""
        from lmtui.ui.app import LmtuiApp

        assert isinstance(self.app, LmtuiApp)
        return self.app

    # ---- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from textual.widgets import Footer

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
    def chips(self) -> AttachmentChips:
        """The images attached to the next prompt."""
        return self.query_one("#attachments", AttachmentChips)

    @property
    def streaming(self) -> bool:
        """True while a reply is being generated."""
        return self._stream_worker is not None and not self._stream_worker.is_finished

    def on_unmount(self) -> None:
        self.save_draft_now()

    # ---- drafts and conversations ----------------------------------------------

    @property
    def _draft_key(self) -> str:
        """The draft's key: "new", or "conv:ID" for the conversation on screen."""
        return self._open_key

    @_draft_key.setter
    def _draft_key(self, key: str) -> None:
        # The one place the open conversation changes: remember it for the next start.
        self._open_key = key
        if not self._track_open:
            return
        cid = int(key.removeprefix("conv:")) if key.startswith("conv:") else None
        try:
            remember_open_conversation(cid)
        except OSError as exc:
            self.status.set(warning=f"cannot remember the open conversation: {exc}")

    def conversation_to_reopen(self) -> int | None:
        """The conversation open when lmtui last ran, unless told to start anew."""
        app = self.lmtui
        if app.start_new or not app.cfg.reopen_last:
            return None
        return conversation_to_reopen(self.session.history, last_open_conversation())

    def _finish_editing(self) -> None:
        """Leave edit mode (a sent prompt loaded into the composer)."""
        if self.composer.editing_index is None:
            return
        self.composer.stop_editing(restore=False)
        self.composer.remove_class("-editing")
        self.composer.border_title = None
        self.status.set(note="")

    def _restore_draft(self) -> None:
        history = self.session.history
        if history is None:
            return
        try:
            text = history.load_draft(self._draft_key)
        except (LmtuiError, OSError) as exc:
            self.status.set(warning=f"draft not restored: {exc}")
            return
        if text:
            self.composer.set_text(text)

    def _save_draft(self, text: str, key: str | None = None) -> None:
        history = self.session.history
        if history is None:
            return
        draft_key = key or self._draft_key

        def failed(exc: LmtuiError) -> None:
            self.status.set(warning=f"draft not saved: {exc.message}")

        # Off the loop: a newer text for the same draft replaces one still waiting.
        queue_change(
            self.app,
            history,
            "save draft",
            lambda s: s.save_draft(draft_key, text),
            key=("draft", draft_key),
            failed=failed,
        )

    def attach_writer(self, writes: WriteWorker | None) -> None:
        """Send the session's history writes to ``writes``; say when a new chat is saved."""
        self.session.writes = writes
        self._watch_new_conversation(self.session)

    def _watch_new_conversation(self, session: ChatSession) -> None:
        """Once the worker saved ``session``'s new conversation, its draft key follows it."""
        app = self.app
        loop = asyncio.get_running_loop()

        def saved_on_loop(conversation_id: int) -> None:
            if self.session is session and self._draft_key == NEW_DRAFT_KEY:
                self._draft_key = f"conv:{conversation_id}"

        def saved(conversation_id: int) -> None:  # on the worker thread
            def run() -> None:
                if app.is_running:
                    saved_on_loop(conversation_id)

            with contextlib.suppress(RuntimeError):  # the loop is gone: the app has ended
                loop.call_soon_threadsafe(run)

        session.on_conversation_saved = saved

    def save_draft_now(self) -> None:
        """Save the composer's text as the draft now (a pending save is not waited for)."""
        try:
            composer = self.composer
        except NoMatches:  # already torn down
            return
        self._save_draft(composer.flush_draft())

    @on(Composer.DraftChanged)
    def _draft_changed(self, event: Composer.DraftChanged) -> None:
        self._save_draft(event.text)

    def _new_session(self) -> ChatSession:
        old = self.session
        session = ChatSession(
            old.client,
            model=old.model,
            system_prompt=old.system_prompt,
            params=old.params,
            preset=old.preset,
            history=old.history,
            server_label=old.server_label,
        )
        session.native_mode = old.native_mode
        session.reasoning = old.reasoning
        session.integrations = old.integrations
        session.writes = old.writes
        if session.writes is not None:
            self._watch_new_conversation(session)
        return session

    async def open_conversation(
        self, conversation_id: int, *, messages_after_frame: bool = False
    ) -> None:
        """Show a conversation from history and continue it (the last messages are mounted).

        ``messages_after_frame`` (at start): the conversation, its draft and its model now,
        its messages once the frame is on screen. Drawing a long reply took the first frame
        seconds, so nothing showed (not even the model) until the whole reply was drawn.
        """
        self._unshown = None
        if self.streaming:
            notify_text(self.app, STILL_GENERATING, severity="warning")
            return
        self.save_draft_now()
        session = self._new_session()
        try:
            session.load(conversation_id)
        except LmtuiError as exc:
            notify_error(self.app, exc)
            return
        self.session = session
        self._draft_key = f"conv:{conversation_id}"
        self._finish_editing()
        self.composer.clear()
        self._restore_draft()
        self.status.set(model=session.model or "")
        if messages_after_frame and not self.lmtui.first_frame_shown:
            self._unshown = session.entries  # LmtuiApp.on_ready shows them
        else:
            await self.chat.show(session.entries)

    async def show_unshown(self) -> None:
        """Mount the messages an opening at start left for after the first frame, if any."""
        entries, self._unshown = self._unshown, None
        if entries is not None:
            await self.chat.show(entries)

    async def action_new_chat(self) -> None:
        """Start a new conversation (the old one stays in history)."""
        if self.streaming:
            return
        self._unshown = None
        self.save_draft_now()
        self.session = self._new_session()
        self._draft_key = NEW_DRAFT_KEY
        self._finish_editing()
        self.composer.clear()
        self._restore_draft()
        await self.chat.show([])
        self.composer.focus()

    # ---- sending and streaming --------------------------------------------------

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        await self.show_unshown()  # a prompt sent in the first frame goes after its messages
        text = event.text
        if text.lstrip().startswith("/image"):
            self._attach_path(text.strip()[len("/image") :].strip())
            self.composer.clear()
            return
        if self.streaming:
            notify_text(self.app, STILL_GENERATING, severity="warning")
            return
        if not self.session.model:
            notify_text(
                self.app,
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
            notify_error(self.app, exc)
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
            self._send_now(reply)  # the server works while the two messages are mounted
            self.chips.clear()
            self._image_urls.clear()
            prompt_index = self.session.entries.index(reply.entry) - 1
            await self.chat.add(self.session.entries[prompt_index])
        await self.start_reply(reply)

    def _send_now(self, reply: Reply) -> None:
        """Send ``reply``'s request (once), with the session's loop rule set first.

        The history writes wait until the reply's end is painted (``release_writes``),
        for :data:`HOLD_WRITES_SECONDS` at most.
        """
        self.session.stop_repeating = self.lmtui.cfg.stop_repeating_replies
        if self.session.writes is not None:
            self.session.writes.hold(HOLD_WRITES_SECONDS)
        reply.start()

    def release_writes(self) -> None:
        """A reply's end is on screen: the history writes held for it go ahead."""
        if self.session.writes is not None:
            self.session.writes.release()

    async def start_reply(self, reply: Reply) -> None:
        """Show ``reply``'s entry (mounting it if new) and let its widget stream it."""
        self._send_now(reply)
        widget = self.chat.widget_for(reply.entry) or await self.chat.add(reply.entry, reply.before)
        self.chat.anchor()
        self._stream_worker = widget.stream(reply)

    @on(MessageWidget.LiveFigures)
    def _live_figures(self, event: MessageWidget.LiveFigures) -> None:
        self.status.set(speed=event.text)

    def action_stop(self) -> None:
        """Stop the reply being generated; its partial text stays, marked stopped."""
        worker = self._stream_worker
        if worker is None or worker.is_finished:
            raise SkipAction()
        worker.cancel()

    async def stop_streaming(self) -> None:
        """Stop a streaming reply and wait until its partial text is kept, marked stopped."""
        worker = self._stream_worker
        if worker is None or worker.is_finished:
            return
        worker.cancel()
        with contextlib.suppress(WorkerCancelled, WorkerFailed, WorkerError):
            await worker.wait()

    # ---- composer extras ------------------------------------------------------

    @on(Composer.EditorRequested)
    async def _editor_requested(self, event: Composer.EditorRequested) -> None:
        await self.action_external_editor()

    async def action_external_editor(self) -> None:
        """Edit the prompt in $VISUAL / $EDITOR."""
        from lmtui.ui.editor import edit_externally

        result: Any = edit_externally(self.app, self.composer.text)
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

        self.app.push_screen(AttachScreen(), chosen)

    def _attach_path(self, raw: str) -> None:
        if not raw:
            notify_text(self.app, "Usage: /image PATH", severity="warning")
            return
        self._attach_image(parse_path(raw))

    def _attach_image(self, path: Path) -> None:
        try:
            url = load_image(path)
        except LmtuiError as exc:
            notify_error(self.app, exc)
            return
        self._image_urls[path] = url
        self.chips.add(path)
        notify_text(self.app, f"Attached {path.name}; it goes with your next prompt.")

    def action_remove_attachment(self) -> None:
        """Drop the image attached last."""
        self.chips.remove_last()

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
