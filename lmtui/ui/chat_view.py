"""The conversation pane: message widgets, kept bounded, following the tail.

Only the last :data:`MAX_MOUNTED` messages are mounted; older ones are mounted
on demand (moving focus above the first shown message), so a 2,000-message
conversation opens as fast as a short one.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from lmtui.services.chat import Entry
from lmtui.ui.message import MessageWidget
from lmtui.ui.textual_compat import QuietResize

MAX_MOUNTED = 60
OLDER_BATCH = 30


class ChatView(QuietResize, VerticalScroll, can_focus=False):
    """Scrollable list of messages that follows new text unless you scrolled up."""

    # The scrollbar's column is kept even while everything fits: when a reply first
    # overflows the pane its text is not re-wrapped to a narrower width (drawn again
    # and sent to the terminal again) while it streams.
    DEFAULT_CSS = """
    ChatView {
        scrollbar-gutter: stable;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hidden_before = 0
        self._notice = Static("", id="older-notice")
        self._empty = Static(
            Content("Type a prompt below and press Enter.  F1 lists every key."),
            id="empty-hint",
        )

    def compose(self) -> ComposeResult:
        yield self._notice
        yield self._empty

    def on_mount(self) -> None:
        self._notice.display = False
        self.anchor()

    # ---- queries --------------------------------------------------------------

    def message_widgets(self) -> list[MessageWidget]:
        """Mounted message widgets, oldest first."""
        return list(self.query(MessageWidget))

    def widget_for(self, entry: Entry) -> MessageWidget | None:
        """The widget showing ``entry`` (by identity), if mounted."""
        for widget in self.query(MessageWidget):
            if widget.entry is entry:
                return widget
        return None

    @property
    def hidden_before(self) -> int:
        """How many older messages are not mounted."""
        return self._hidden_before

    # ---- changes --------------------------------------------------------------

    def _update_notice(self) -> None:
        self._notice.display = self._hidden_before > 0
        self._notice.update(
            Content(
                f"▲ {self._hidden_before} earlier message(s) not shown — "
                "move up past the first message to show more"
            )
        )
        self._empty.display = not self.query(MessageWidget)

    async def add(self, entry: Entry, shown: tuple[str, str] | None = None) -> MessageWidget:
        """Mount a widget for a new entry at the end; prune the oldest beyond the bound.

        ``shown``: see :class:`MessageWidget`.
        """
        widget = MessageWidget(entry, shown)
        await self.mount(widget)
        widgets = self.message_widgets()
        excess = len(widgets) - MAX_MOUNTED
        if excess > 0:
            await self.remove_children(widgets[:excess])
            self._hidden_before += excess
        self._update_notice()
        self.anchor()
        return widget

    async def show(self, entries: Sequence[Entry]) -> None:
        """Replace everything with the last messages of ``entries``."""
        await self.remove_children(MessageWidget)
        shown = list(entries[-MAX_MOUNTED:])
        self._hidden_before = len(entries) - len(shown)
        if shown:
            await self.mount_all([MessageWidget(e) for e in shown])
        self._update_notice()
        self.anchor()
        self.scroll_end(animate=False)

    async def show_older(self, entries: Sequence[Entry]) -> int:
        """Mount up to :data:`OLDER_BATCH` older messages; return how many."""
        if self._hidden_before <= 0:
            return 0
        start = max(0, self._hidden_before - OLDER_BATCH)
        older = [MessageWidget(e) for e in entries[start : self._hidden_before]]
        first = self.message_widgets()
        if first:
            await self.mount_all(older, before=first[0])
        else:
            await self.mount_all(older)
        self._hidden_before = start
        self._update_notice()
        return len(older)

    async def sync(self, entries: Sequence[Entry]) -> None:
        """Drop widgets whose entry left the conversation (regenerate, edit, delete)."""
        alive = {id(e) for e in entries}
        gone = [w for w in self.message_widgets() if id(w.entry) not in alive]
        if gone:
            await self.remove_children(gone)
        mounted = len(self.message_widgets())
        self._hidden_before = max(0, len(entries) - mounted)
        self._update_notice()
