"""What the user does to messages: move between them, copy, edit, regenerate, continue, delete.

:class:`ChatActions` is the base of the app class; it holds these actions so the app
module keeps to layout, streaming and models. The names it uses from the app are
declared below.
"""

from __future__ import annotations

from textual.actions import SkipAction
from textual.app import App

from lmtui.backend.errors import LmtuiError
from lmtui.services.chat import ChatSession, Entry, Reply
from lmtui.services.clients import Client
from lmtui.services.terminal_text import make_inert
from lmtui.ui.chat_view import ChatView
from lmtui.ui.composer import Composer
from lmtui.ui.message import MessageWidget, last_code_block
from lmtui.ui.status import StatusLine


class ChatActions(App[int]):
    """Message actions of the chat app (bound in :mod:`lmtui.ui.keymap`)."""

    session: ChatSession
    client: Client

    # Provided by the app.
    @property
    def sends_token(self) -> bool:
        """True when the client in use sends an API token."""
        raise NotImplementedError

    @property
    def chat(self) -> ChatView:
        """The conversation pane."""
        raise NotImplementedError

    @property
    def composer(self) -> Composer:
        """The prompt box."""
        raise NotImplementedError

    @property
    def status(self) -> StatusLine:
        """The status line."""
        raise NotImplementedError

    @property
    def streaming(self) -> bool:
        """True while a reply is being generated."""
        raise NotImplementedError

    async def _start_stream(self, reply: Reply) -> None:
        raise NotImplementedError

    def _save_draft_now(self) -> None:
        raise NotImplementedError

    def _restore_draft(self) -> None:
        raise NotImplementedError

    def _focused_message(self) -> MessageWidget | None:
        focused = self.focused
        return focused if isinstance(focused, MessageWidget) else None

    def _target(self, role: str | None = None) -> MessageWidget | None:
        """The focused message, else the last one (of ``role`` when given)."""
        focused = self._focused_message()
        if focused is not None and (role is None or focused.entry.role == role):
            return focused
        for widget in reversed(self.chat.message_widgets()):
            if role is None or widget.entry.role == role:
                return widget
        return None

    def _index_of(self, entry: Entry) -> int | None:
        for i, e in enumerate(self.session.entries):
            if e is entry:
                return i
        return None

    async def action_focus_message(self, step: int) -> None:
        """Move focus to the previous/next message (from the prompt: the last one)."""
        widgets = self.chat.message_widgets()
        current = self._focused_message()
        if current is None:
            if step > 0 or not widgets:
                return
            target = widgets[-1]
        else:
            index = widgets.index(current) + step
            if index < 0:
                added = await self.chat.show_older(self.session.entries)
                if not added:
                    return
                widgets = self.chat.message_widgets()
                index = added - 1
            if index >= len(widgets):
                self.action_focus_composer()
                return
            target = widgets[index]
        if target is not widgets[-1]:
            self.chat.release_anchor()
        target.focus()
        self.chat.scroll_to_widget(target, animate=False, top=target.size.height > 10)

    def action_focus_composer(self) -> None:
        """Back to the prompt box, following the conversation's tail again."""
        self.composer.focus()
        self.chat.anchor()

    async def action_show_older(self) -> None:
        """Mount older messages of a long conversation."""
        added = await self.chat.show_older(self.session.entries)
        if not added:
            self.notify("All messages are shown.")

    def action_copy_message(self) -> None:
        """Copy the focused (or last) message to the clipboard (OSC 52)."""
        widget = self._target()
        if widget is None:
            self.notify("Nothing to copy yet.")
            return
        text = make_inert(widget.entry.content)
        self.copy_to_clipboard(text)
        self.notify(f"Copied {len(text)} characters.")

    def action_copy_code(self) -> None:
        """Copy the last code block of the focused (or last) reply."""
        focused = self._focused_message()
        widget = focused if focused is not None else self._target("assistant")
        code = last_code_block(widget.entry.content) if widget is not None else None
        if code is None:
            self.notify("No code block in that message.", severity="warning")
            return
        self.copy_to_clipboard(make_inert(code))
        self.notify(f"Copied code block ({len(code.splitlines())} lines).")

    def action_edit_message(self) -> None:
        """Load a prompt into the composer; Enter resends it (Esc cancels)."""
        if self.streaming:
            self.notify("Still generating — Esc stops it first.", severity="warning")
            return
        widget = self._target("user")
        if widget is None:
            self.notify("No prompt of yours to edit.")
            return
        index = self._index_of(widget.entry)
        if index is None:
            return
        self._save_draft_now()
        self.composer.editing_index = index
        self.composer.set_text(widget.entry.content)
        self.composer.add_class("-editing")
        self.composer.border_title = "Editing — Enter resends, Esc cancels"
        self.status.set(note="editing a sent prompt: Enter resends, Esc cancels")
        self.composer.focus()

    def _finish_editing(self) -> None:
        if self.composer.editing_index is None:
            return
        self.composer.editing_index = None
        self.composer.remove_class("-editing")
        self.composer.border_title = None
        self.status.set(note="")

    def action_cancel_edit(self) -> None:
        """Leave edit mode and restore the draft."""
        if self.composer.editing_index is None:
            raise SkipAction()
        self._finish_editing()
        self.composer.clear()
        self._restore_draft()

    async def action_regenerate(self) -> None:
        """Ask again for the last reply."""
        if self.streaming:
            return
        try:
            reply = self.session.regenerate()
        except LmtuiError as exc:
            self.notify(exc.message, severity="warning", markup=False)
            return
        await self.chat.sync(self.session.entries)
        await self._start_stream(reply)

    async def action_continue_reply(self) -> None:
        """Continue the last reply after it was cut (length) or stopped."""
        if self.streaming:
            return
        try:
            reply = self.session.continue_reply()
        except LmtuiError as exc:
            self.notify(exc.message, severity="warning", markup=False)
            return
        await self._start_stream(reply)

    async def action_delete_message(self) -> None:
        """Delete the focused message (or the last one)."""
        if self.streaming:
            return
        widget = self._target()
        if widget is None:
            return
        index = self._index_of(widget.entry)
        if index is None:
            return
        widgets = self.chat.message_widgets()
        position = widgets.index(widget)
        self.session.delete(index)
        await self.chat.sync(self.session.entries)
        widgets = self.chat.message_widgets()
        if widgets and self._focused_message() is None and self.focused is not self.composer:
            widgets[min(position, len(widgets) - 1)].focus()
        self.notify("Message deleted.")

    def action_toggle_reasoning(self) -> None:
        """Show or hide the reasoning of the focused (or last) reply."""
        widget = self._target("assistant")
        if widget is None or not widget.toggle_reasoning():
            self.notify("That reply has no reasoning.")

    def action_inspect_message(self) -> None:
        """Show the request behind the focused (or last) reply, with "copy as" snippets."""
        from lmtui.ui.inspector_screen import InspectorScreen

        widget = self._target("assistant")
        if widget is None:
            self.notify("No reply to inspect yet.")
            return
        if widget.entry.request_json is None:
            self.notify(
                "No request recorded for that reply (it was loaded from history); "
                "F5 lists the requests made since the app started.",
                severity="warning",
            )
            return
        screen = InspectorScreen.for_entry(
            self.client.base_url, widget.entry, with_token=self.sends_token
        )
        self.push_screen(screen)
