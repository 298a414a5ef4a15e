"""The prompt box: multi-line, Enter sends, drafts saved as you type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import TextArea

from lmtui.ui.keymap import COMPOSER_ACTIONS
from lmtui.ui.textual_compat import bindings_for_key

DRAFT_DELAY_S = 0.5


class Composer(TextArea):
    """Multi-line prompt editor. Enter sends; Ctrl+J or Alt+Enter adds a line."""

    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in COMPOSER_ACTIONS]

    @dataclass
    class Submitted(Message):
        """The user pressed Enter with this text."""

        text: str

    @dataclass
    class DraftChanged(Message):
        """The text has been still for a moment: time to save the draft."""

        text: str

    @dataclass
    class EditorRequested(Message):
        """Ctrl+E: open the text in the external editor."""

        text: str

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(
            text,
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder="Prompt — Enter sends, Ctrl+J new line, Ctrl+E editor, /image PATH",
        )
        # A steady cursor: blinking runs a timer forever and writes ~300 bytes a second to
        # the terminal even when nothing happens, which an SSH link pays for.
        self.cursor_blink = False
        self._draft_timer: Timer | None = None
        self.editing_index: int | None = None  # entry index when editing a sent prompt

    # The composer's own actions, run from its key handler (see on_key).
    _OWN_ACTIONS: ClassVar[frozenset[str]] = frozenset(a.action for a in COMPOSER_ACTIONS)

    async def on_key(self, event: events.Key) -> None:
        """Run the composer's own keys here; every other key goes on to the text area."""
        # Handled here, in the composer's own message queue, rather than as priority
        # bindings: the app runs priority bindings ahead of characters still queued for the
        # text area, so a fast burst ("hello" + Enter from a paste without bracketed paste,
        # tmux send-keys, or keys batched by a slow SSH link) sent an empty or partial prompt.
        for binding in bindings_for_key(self, event.key):
            if binding.action in self._OWN_ACTIONS:
                event.stop()
                event.prevent_default()  # the text area's own key handler does not run
                await self.run_action(binding.action)
                return

    def action_submit(self) -> None:
        """Send the text (ignored when blank)."""
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        """Insert a line break at the cursor."""
        self.insert("\n")

    def action_external_editor(self) -> None:
        """Ask the app to open $VISUAL/$EDITOR on the current text."""
        self.post_message(self.EditorRequested(self.text))

    def set_text(self, text: str) -> None:
        """Replace the text and put the cursor at its end."""
        self.load_text(text)
        self.move_cursor(self.document.end)

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        # One short timer per pause in typing, not a poll.
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY_S, self._draft_due)

    def _draft_due(self) -> None:
        self._draft_timer = None
        self.post_message(self.DraftChanged(self.text))

    def flush_draft(self) -> str:
        """Cancel a pending save and return the text to save now."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        return self.text
