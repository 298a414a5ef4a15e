"""The history browser: every saved conversation, searchable, to open, rename, delete or export.

``HistoryBrowser(store)`` is a full screen whose result is the id of the
conversation to open (and continue), or None when it was closed. It posts no
other message: renames, deletes and undo go to the app's history writer
(:func:`~lmtui.ui.history_writes.queue_change`, off the event loop), and the list
is re-read once each went through; exports run in a thread worker.

The list is paged (200 summaries at a time, more as the cursor or the scroll
nears the end), so 10,000 conversations open as fast as ten. Search runs as you
type, debounced, in a thread worker on a connection of the browser's own: a word
(or a one-letter prefix) found in most messages takes seconds at 1,000,000 messages,
and it must never stall the keyboard nor hold the store the screen pages from. A
newer query interrupts the one still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist
from textual.worker import get_current_worker

from lmtui.backend.errors import LmtuiError
from lmtui.services.history_files import export_to_file
from lmtui.services.history_ops import (
    delete_conversation,
    rename_conversation,
    restore_conversation,
)
from lmtui.services.terminal_text import make_inert
from lmtui.store.history import (
    ConversationSummary,
    HistoryStore,
    SearchHit,
    SearchHits,
    make_title,
)
from lmtui.ui.history_prompts import (
    ExportPrompt,
    ExportRequest,
    RenamePrompt,
    one_line_error,
)
from lmtui.ui.history_rows import (
    ERROR_STYLE,
    hit_prompt,
    plural,
    summary_prompt,
)
from lmtui.ui.history_rows import HIGHLIGHT_STYLE as HIGHLIGHT_STYLE
from lmtui.ui.history_rows import MARK_END as MARK_END
from lmtui.ui.history_rows import MARK_START as MARK_START
from lmtui.ui.history_rows import marked_content as marked_content
from lmtui.ui.history_rows import relative_time as relative_time
from lmtui.ui.history_writes import queue_change
from lmtui.ui.notices import notify_error, notify_text

_R = TypeVar("_R")

PAGE_SIZE = 200
# Load the next page when the cursor or the viewport is this many rows from the end.
NEAR_END_ROWS = 40
SEARCH_DEBOUNCE_S = 0.2
SEARCH_LIMIT = 200


class ConversationList(OptionList):
    """An option list that says when its viewport nears the end (to page in more)."""

    class NearEnd(Message):
        """The viewport or the highlight is close to the last row."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value + self.size.height + NEAR_END_ROWS >= self.virtual_size.height:
            self.post_message(self.NearEnd())


class HistoryBrowser(Screen[int | None]):
    """Saved conversations, newest first; dismisses with the id to open, or None."""

    CSS_PATH = "history_browser.tcss"
    BINDING_GROUP_TITLE = "History"
    AUTO_FOCUS = "#history-list"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority, so it is shown and works over the list's own Enter.
        Binding("enter", "open", "Open", id="history.open", priority=True),
        Binding("slash", "focus_search", "Search", id="history.search", key_display="/"),
        Binding("r", "rename", "Rename", id="history.rename", tooltip="Rename the conversation"),
        Binding(
            "d,delete", "delete", "Delete", id="history.delete", tooltip="Move it to the trash"
        ),
        Binding("u", "undo", "Undo", id="history.undo", tooltip="Restore the last deleted"),
        Binding("e", "export", "Export", id="history.export", tooltip="Export this one"),
        Binding("E,shift+e", "export_all", "Export all", id="history.export_all"),
        Binding("escape", "close", "Close", id="history.close"),
        # From the search box only (the list binds its own Down).
        Binding("down", "focus_list", "Go to the results", show=False, id="history.results"),
    ]
    _TARGET_ACTIONS: ClassVar[frozenset[str]] = frozenset({"rename", "delete", "export"})
    _LIST_ACTIONS: ClassVar[frozenset[str]] = _TARGET_ACTIONS | {"undo", "export_all"}

    def __init__(self, store: HistoryStore) -> None:
        """Browse ``store``; the screen's result is a conversation id or None."""
        super().__init__()
        self.store = store
        #: Conversations loaded so far (list mode), newest first.
        self.summaries: list[ConversationSummary] = []
        #: How many conversations the store holds (not in the trash).
        self.total = 0
        #: The current search hits (search mode), best first.
        self.hits: list[SearchHit] = []
        #: The query whose hits are shown; empty in list mode.
        self.query_text = ""
        #: Deleted conversation ids, last deleted last (``u`` restores the last).
        self.deleted: list[int] = []
        self._loaded_ids: set[int] = set()
        self._search_timer: Timer | None = None
        self._pending_query: str | None = None
        self._hits_status = ""
        self._search_in_flight = False
        self._open_first_when_shown = False  # Enter in the search box, results on their way
        self._options: dict[int, tuple[ConversationSummary, Option]] = {}
        self._searcher: HistoryStore | None = None  # the searches' own connection

    # ---- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("History", id="history-title", markup=False)
        yield Input(placeholder="Search (/) — every word, as you type", id="history-search")
        yield ConversationList(id="history-list")
        yield Static("", id="history-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def on_unmount(self) -> None:
        searcher, self._searcher = self._searcher, None
        if searcher is not None and searcher is not self.store:
            searcher.interrupt()
            # Closing waits for a search still between statements: not on the loop.
            threading.Thread(target=searcher.close, name="lmtui-search-close", daemon=True).start()

    def _search_store(self) -> HistoryStore:
        """The store searches run on: a second connection to the same file, opened once.

        A long search then never holds the store the list pages from (its lock), and
        :meth:`HistoryStore.interrupt` can stop it. The screen's own store when a
        second connection cannot be opened.
        """
        if self._searcher is None:
            try:
                self._searcher = HistoryStore(
                    self.store.path, busy_timeout=self.store.busy_timeout, recover=False
                )
            except (LmtuiError, OSError, AttributeError):
                self._searcher = self.store
        return self._searcher

    @property
    def option_list(self) -> ConversationList:
        """The list of conversations or hits."""
        return self.query_one("#history-list", ConversationList)

    @property
    def search_input(self) -> Input:
        """The search box."""
        return self.query_one("#history-search", Input)

    @property
    def searching(self) -> bool:
        """True when search hits are shown instead of the list."""
        return bool(self.query_text)

    def highlighted_id(self) -> int | None:
        """The conversation id under the cursor, if any."""
        option = self.option_list.highlighted_option
        return None if option is None or option.id is None else int(option.id)

    def _status(self, text: str | Content) -> None:
        if not self.is_attached:
            return
        self.query_one("#history-status", Static).update(text)

    def _report(self, title: str, exc: LmtuiError) -> None:
        notify_error(self.app, exc, title=title)

    # ---- list mode ----------------------------------------------------------------

    def reload(self, keep: int | None = None, *, index: int | None = None) -> None:
        """Re-read the list from the store (as many rows as were loaded, at least a page).

        The cursor goes to conversation ``keep`` when it is loaded, else to ``index``.
        """
        want = max(PAGE_SIZE, len(self.summaries) + 1)
        try:
            self.total = self.store.count_conversations()
            rows = self.store.list_conversations(limit=want)
        except LmtuiError as exc:
            self._status(Content.styled(one_line_error(exc), ERROR_STYLE))
            return
        self.summaries = []
        self._loaded_ids = set()
        self._add_summaries(rows)
        self._update_title()
        if not self.searching:
            self._show_summaries(keep, index)

    def _add_summaries(self, rows: Iterable[ConversationSummary]) -> list[ConversationSummary]:
        # A reply finishing elsewhere can move a conversation up between pages: skip repeats.
        fresh = [s for s in rows if s.id not in self._loaded_ids]
        self.summaries.extend(fresh)
        self._loaded_ids.update(s.id for s in fresh)
        return fresh

    def _option(self, summary: ConversationSummary, now: float) -> Option:
        # Options are reused while their summary is unchanged: the list keeps each one's
        # rendering, so re-showing thousands of rows after a delete stays cheap.
        cached = self._options.get(summary.id)
        if cached is not None and cached[0] == summary:
            return cached[1]
        option = Option(summary_prompt(summary, now), id=str(summary.id))
        self._options[summary.id] = (summary, option)
        return option

    def _show_summaries(self, keep: int | None = None, index: int | None = None) -> None:
        now = time.time()
        self._fill([self._option(s, now) for s in self.summaries])
        self._place_cursor(keep, index)
        self._list_status()

    def _list_status(self) -> None:
        if self.total == 0:
            self._status("No saved conversations yet.")
        elif len(self.summaries) < self.total:
            self._status(f"{len(self.summaries):,} of {plural(self.total, 'conversation')} loaded")
        else:
            self._status(plural(self.total, "conversation"))

    def _update_title(self) -> None:
        title = f"History · {plural(self.total, 'conversation')}"
        if self.deleted:
            title += f" · {len(self.deleted)} deleted (u undo)"
        self.query_one("#history-title", Static).update(title)

    def load_more(self) -> bool:
        """Page in the next conversations; False when all are loaded already."""
        if self.searching or len(self.summaries) >= self.total:
            return False
        try:
            rows = self.store.list_conversations(limit=PAGE_SIZE, offset=len(self.summaries))
        except LmtuiError as exc:
            self._report("History not available", exc)
            return False
        if not rows:
            self.total = len(self.summaries)
            self._list_status()
            return False
        now = time.time()
        fresh = self._add_summaries(rows)
        self.option_list.add_options(self._option(s, now) for s in fresh)
        self._list_status()
        return True

    @on(ConversationList.NearEnd)
    def _near_end(self) -> None:
        self.load_more()

    @on(OptionList.OptionHighlighted, "#history-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index >= self.option_list.option_count - NEAR_END_ROWS:
            self.load_more()
        self.refresh_bindings()

    def _fill(self, options: Sequence[Option]) -> None:
        self.option_list.set_options(options)
        self.refresh_bindings()

    def _place_cursor(self, keep: int | None, index: int | None) -> None:
        options = self.option_list
        if options.option_count == 0:
            return
        if keep is not None:
            try:
                options.highlighted = options.get_option_index(str(keep))
                return
            except OptionDoesNotExist:
                pass
        options.highlighted = min(index or 0, options.option_count - 1)

    # ---- search -------------------------------------------------------------------

    @on(Input.Changed, "#history-search")
    def _query_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._pending_query = event.value
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE_S, self._run_pending_search)

    def _run_pending_search(self) -> None:
        self._search_timer = None
        query, self._pending_query = self._pending_query, None
        if query is not None:
            self.start_search(query)

    def start_search(self, query: str, keep: int | None = None) -> None:
        """Show the hits for ``query`` (a worker fetches them), or the list when it is blank."""
        if not query.strip():
            self.query_text = ""
            self.hits = []
            self._show_summaries(keep)
            return
        self._status(f"Searching for “{make_inert(query.strip())}”…")
        searcher = self._search_store()
        if self._search_in_flight and searcher is not self.store:
            searcher.interrupt()  # its hits would be dropped anyway: stop spending on them
        self._search_in_flight = True
        self._search(searcher, query, keep)

    @work(thread=True, exclusive=True, group="history-search", exit_on_error=False)
    def _search(self, store: HistoryStore, query: str, keep: int | None) -> None:
        try:
            hits = store.search(
                query, limit=SEARCH_LIMIT + 1, prefix=True, marks=(MARK_START, MARK_END)
            )
        except LmtuiError as exc:
            self.app.call_from_thread(self._search_failed, query, exc)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_hits, query, hits, keep)

    def _search_failed(self, query: str, exc: LmtuiError) -> None:
        if query == self._wanted_query():
            self._search_in_flight = self._open_first_when_shown = False
            self._status(Content.styled(one_line_error(exc), ERROR_STYLE))

    def _wanted_query(self) -> str:
        return self._pending_query if self._pending_query is not None else self.search_input.value

    def show_hits(self, query: str, hits: list[SearchHit], keep: int | None = None) -> None:
        """Show the hits of ``query``, unless the search box has moved on since."""
        if query != self._wanted_query():
            return
        self.query_text = query
        more = len(hits) > SEARCH_LIMIT
        self.hits = hits[:SEARCH_LIMIT]
        now = time.time()
        self._fill([Option(hit_prompt(h, now), id=str(h.conversation_id)) for h in self.hits])
        self._place_cursor(keep, None)
        shown = make_inert(query.strip())
        if not self.hits:
            self._hits_status = f"No conversation matches “{shown}”."
        else:
            count = f"{SEARCH_LIMIT}+" if more else f"{len(self.hits)}"
            verb = "matches" if count == "1" else "match"
            noun = "conversation" + ("" if count == "1" else "s")
            order = "best first"
            if isinstance(hits, SearchHits) and hits.ranked_newest is not None:
                # A very common word: only the newest matches were ranked (search_candidates).
                order = f"best of the newest {hits.ranked_newest:,} matches"
            self._hits_status = f"{count} {noun} {verb} “{shown}” · {order}"
        self._status(self._hits_status)
        self._search_in_flight = False
        if self._open_first_when_shown:
            self._open_first()

    def _refresh_view(self, keep: int | None = None, index: int | None = None) -> None:
        """Re-read what is shown after a change (the list, and the hits when searching).

        Nothing to do once the browser was closed (a queued change went through later).
        """
        if not self.is_attached:
            return
        self.reload(keep, index=index)
        if self.searching:
            self.start_search(self.query_text, keep)

    # ---- actions ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide list keys while typing a search; dim those with nothing to act on."""
        if action in self._LIST_ACTIONS and self.search_input.has_focus:
            return False
        if action in self._TARGET_ACTIONS and self.option_list.highlighted is None:
            return None
        if action == "undo" and not self.deleted:
            return False
        if action == "export_all" and self.total == 0:
            return None
        return True

    def action_open(self) -> None:
        """Open the highlighted conversation (from the search box: the first hit)."""
        if self.search_input.has_focus:
            self._flush_search()
            if self._search_in_flight:
                self._open_first_when_shown = True
            else:
                self._open_first()
            return
        conversation_id = self.highlighted_id()
        if conversation_id is not None:
            self.dismiss(conversation_id)

    def _open_first(self) -> None:
        """Open the first conversation shown; with none, stay (the status says why)."""
        self._open_first_when_shown = False
        if self.option_list.option_count == 0:
            return
        self.option_list.highlighted = 0
        conversation_id = self.highlighted_id()
        if conversation_id is not None:
            self.dismiss(conversation_id)

    def _flush_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._run_pending_search()

    def action_focus_search(self) -> None:
        """Move to the search box."""
        self.search_input.focus()

    def action_focus_list(self) -> None:
        """Move from the search box to the results."""
        self._flush_search()
        self.option_list.focus()

    def action_close(self) -> None:
        """Leave the search box, or close the browser."""
        if self.search_input.has_focus:
            self.option_list.focus()
            return
        self.dismiss(None)

    def _summary(self, conversation_id: int) -> ConversationSummary | None:
        return next((s for s in self.summaries if s.id == conversation_id), None)

    def action_rename(self) -> None:
        """Ask for a new title for the highlighted conversation."""
        conversation_id = self.highlighted_id()
        if conversation_id is None:
            return
        try:
            summary, messages = self.store.get_conversation(conversation_id)
        except LmtuiError as exc:
            self._report("Cannot rename", exc)
            return
        first = next((m.content for m in messages if m.role == "user"), "")
        auto = make_title(first)

        def renamed(title: str | None) -> None:
            if title is None:
                return
            self._status(f"Renaming to “{make_inert(title)}”…")
            queue_change(
                self.app,
                self.store,
                "rename",
                lambda s: rename_conversation(s, conversation_id, title),
                done=lambda _: self._refresh_view(keep=conversation_id),
                failed=lambda exc: self._report("Not renamed", exc),
            )

        self.app.push_screen(RenamePrompt(summary.title, auto), renamed)

    def action_delete(self) -> None:
        """Move the highlighted conversation to the trash (``u`` brings it back)."""
        conversation_id = self.highlighted_id()
        if conversation_id is None:
            return
        index = self.option_list.highlighted
        title = self._title_of(conversation_id)

        def deleted(_: None) -> None:
            self.deleted.append(conversation_id)
            notify_text(self.app, f"Deleted “{title}”. Press u to undo.", title="History")
            self._refresh_view(index=index)

        self._status(f"Deleting “{title}”…")
        queue_change(
            self.app,
            self.store,
            "delete conversation",
            lambda s: delete_conversation(s, conversation_id),
            done=deleted,
            failed=lambda exc: self._report("Not deleted", exc),
        )

    def _title_of(self, conversation_id: int) -> str:
        summary = self._summary(conversation_id)
        if summary is not None:
            return make_inert(summary.title)
        hit = next((h for h in self.hits if h.conversation_id == conversation_id), None)
        return make_inert(hit.title) if hit else str(conversation_id)

    def action_undo(self) -> None:
        """Restore the conversation deleted last."""
        if not self.deleted:
            self.notify("Nothing to undo.", title="History")
            return
        conversation_id = self.deleted.pop()

        def restored(_: None) -> None:
            self._refresh_view(keep=conversation_id)
            notify_text(self.app, f"Restored “{self._title_of(conversation_id)}”.", title="History")

        def failed(exc: LmtuiError) -> None:
            self.deleted.append(conversation_id)  # still in the trash: u can try again
            if self.is_attached:
                self._update_title()
            self._report("Not restored", exc)

        self._status("Restoring…")
        queue_change(
            self.app,
            self.store,
            "restore conversation",
            lambda s: restore_conversation(s, conversation_id),
            done=restored,
            failed=failed,
        )

    def action_export(self) -> None:
        """Export the highlighted conversation to a file."""
        conversation_id = self.highlighted_id()
        if conversation_id is not None:
            self._ask_export([conversation_id], f"conversation {conversation_id}", conversation_id)

    def action_export_all(self) -> None:
        """Export every conversation (not the trash) to one file."""
        if self.total:
            self._ask_export(None, f"all {plural(self.total, 'conversation')}", None)

    def _ask_export(self, ids: list[int] | None, what: str, conversation_id: int | None) -> None:
        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                self._status(f"Exporting {what} to {request.path}…")
                self._export(ids, request, what)

        self.app.push_screen(ExportPrompt(what, conversation_id), chosen)

    @work(thread=True, group="history-export", exit_on_error=False)
    def _export(self, ids: list[int] | None, request: ExportRequest, what: str) -> None:
        try:
            export_to_file(self.store, ids, request.fmt, request.path)
        except LmtuiError as exc:
            self.app.call_from_thread(self._report, "Export failed", exc)
        else:
            self.app.call_from_thread(
                self.notify, f"Exported {what} to {request.path}.", title="History"
            )
        self.app.call_from_thread(self._after_export)

    def _after_export(self) -> None:
        if self.searching:
            self._status(self._hits_status)
        else:
            self._list_status()


#: Every binding id of the browser and its prompts, for checking ``[keys]`` in config.toml.
KEY_IDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        binding.id
        for screen in (HistoryBrowser, RenamePrompt, ExportPrompt)
        for binding in screen.BINDINGS
        if isinstance(binding, Binding) and binding.id
    )
)
