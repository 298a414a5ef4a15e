"""The chat screen: model sidebar | conversation + composer, a status line and a footer.

It owns the conversation (a ``ChatSession``), its layout (``chat_screen.tcss``) and
its keys (``CHAT_ACTIONS`` in :mod:`lmtui.ui.keymap`). The keys are bound on the
screen, so a dialog or tool pushed on top gets its own keys with no switching
here. The screen is assembled from three files:

- :mod:`lmtui.ui.chat_screen_base`: layout, typed getters, drafts, sending, streaming;
- :mod:`lmtui.ui.message_actions`: moving between messages, copy, edit, delete…, and
  :mod:`lmtui.ui.native_actions` on top of it: LM Studio's reasoning setting, tool calls;
- :mod:`lmtui.ui.chat_commands`: models, servers, and the dialogs and tools it opens.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.binding import BindingType

from lmtui.backend.errors import LmtuiError
from lmtui.ui.chat_commands import ChatCommands
from lmtui.ui.chat_screen_base import NEW_DRAFT_KEY
from lmtui.ui.keymap import CHAT_ACTIONS
from lmtui.ui.message import MessageWidget
from lmtui.ui.native_actions import NativeActions
from lmtui.ui.notices import notify_error

# Actions on the conversation's messages: off until they are mounted.
WAIT_FOR_MESSAGES = frozenset(
    (
        "regenerate",
        "continue_reply",
        "delete_message",
        "edit_message",
        "focus_message",
        "show_older",
    )
)


class ChatScreen(NativeActions, ChatCommands):
    """The conversation with one server: what you type, the replies, the models."""

    CSS_PATH = "chat_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in CHAT_ACTIONS]

    async def on_mount(self) -> None:
        app = self.lmtui
        self.status.set(
            server=self.session.server_label,
            server_ok=None if app.unreachable is None else False,
            model=self.session.model or "",
            preset=app.cfg.preset or "",
            note=self._note,
        )
        if app.history_problem:
            off = "history off: " if app.history is None else ""
            self.status.set(warning=f"{off}{app.history_problem}")
        reopen = app.conversation_id or self.conversation_to_reopen()
        self._track_open = True
        if reopen is not None:
            await self.open_conversation(reopen, messages_after_frame=True)
        else:
            self._draft_key = NEW_DRAFT_KEY
            self._restore_draft()
        self.composer.focus()
        self._apply_width(self.size.width)
        if app.unreachable is not None:
            message, remedy = app.unreachable
            self.sidebar.set_error(message, remedy)
            notify_error(app, LmtuiError(message, remedy), timeout=10)
        else:
            # After the first frame: handling the answer (the sidebar's list) kept the
            # screen busy, so nothing showed until the models did.
            self.call_after_refresh(self.refresh_models, choose=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim actions that cannot apply now (Esc passes through when idle)."""
        if self._unshown is not None and action in WAIT_FOR_MESSAGES:
            return False  # the opened conversation's messages come with the next frame
        if action == "stop":
            return True if self.streaming else None
        if action in ("regenerate", "continue_reply", "delete_message", "new_chat"):
            return None if self.streaming else True
        return True

    @on(MessageWidget.StreamEnded)
    def _stream_ended(self, event: MessageWidget.StreamEnded) -> None:
        self.call_after_refresh(self.release_writes)  # after the end's paint
        if event.error is not None:
            notify_error(self.app, event.error)
        entry = event.widget.entry
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
