"""The history browser: order, search as you type, open, rename, delete + undo, export, scale."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Static

from lmtui.services.history_files import check_export_path
from lmtui.store.history import HistoryInputError, HistoryStore, SearchHit, SearchHits
from lmtui.store.history_export import ConversationData, MessageData
from lmtui.ui.history_browser import (
    HIGHLIGHT_STYLE,
    KEY_IDS,
    MARK_END,
    MARK_START,
    PAGE_SIZE,
    HistoryBrowser,
    marked_content,
    relative_time,
)
from lmtui.ui.history_prompts import (
    ExportPrompt,
    RenamePrompt,
    default_export_path,
    swap_extension,
)

NOW = time.time()
HOUR = 3600.0

UNSET = object()


class Host(App[None]):
    """A bare app that opens the browser and keeps what it was dismissed with."""

    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store
        self.result: object = UNSET

    def on_mount(self) -> None:
        self.push_screen(HistoryBrowser(self.store), self._done)

    def _done(self, result: int | None) -> None:
        self.result = result

    @property
    def browser(self) -> HistoryBrowser:
        screen = self.screen
        if not isinstance(screen, HistoryBrowser):
            screen = next(s for s in self.screen_stack if isinstance(s, HistoryBrowser))
        return screen


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()


def conv(
    title: str,
    hours_ago: float,
    texts: tuple[str, ...] = ("hello", "hi there"),
    model: str | None = "qwen-7b",
) -> ConversationData:
    """A conversation last updated ``hours_ago``, alternating user/assistant messages."""
    when = NOW - hours_ago * HOUR
    messages = tuple(
        MessageData(role="user" if i % 2 == 0 else "assistant", content=text, created=when)
        for i, text in enumerate(texts)
    )
    return ConversationData(title, messages, created=when, updated=when, model=model)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """Three conversations: ids 1 (oldest) to 3 (newest)."""
    with HistoryStore(tmp_path / "data" / "history.sqlite3") as s:
        s.import_conversations(
            [
                conv("Wombat care", 30, ("How do I feed a wombat?", "Grass and roots.")),
                conv("Rust lifetimes", 2, ("Explain lifetimes", "They are...", "More?")),
                conv("Pasta sauce", 0.1, ("Best tomato sauce?", "Simmer slowly."), model=None),
            ]
        )
        yield s


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], steps: int = 500) -> None:
    """Let the app run until ``condition()`` holds (bounded by steps, not by time)."""
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.01)
    assert condition(), "the app never reached the expected state"


def shown_ids(browser: HistoryBrowser) -> list[int]:
    return [int(o.id or 0) for o in browser.option_list.options]


def prompt_of(browser: HistoryBrowser, index: int) -> Content:
    prompt = browser.option_list.get_option_at_index(index).prompt
    assert isinstance(prompt, Content)
    return prompt


def status_text(browser: HistoryBrowser) -> str:
    return str(browser.query_one("#history-status", Static).render())


async def type_search(pilot: Pilot[Any], text: str) -> None:
    """Focus the search box, type ``text`` and wait for its hits."""
    browser = pilot.app.screen
    assert isinstance(browser, HistoryBrowser)
    await pilot.press("slash", *text)
    await wait_until(pilot, lambda: browser.query_text == text)


# ---- pure helpers ---------------------------------------------------------------------


def test_relative_time_units() -> None:
    assert relative_time(NOW - 5, NOW) == "just now"
    assert relative_time(NOW + 30, NOW) == "just now"  # a clock a little ahead
    assert relative_time(NOW - 5 * 60, NOW) == "5 min ago"
    assert relative_time(NOW - 2 * HOUR - 60, NOW) == "2 h ago"
    assert relative_time(NOW - 3 * 24 * HOUR, NOW) == "3 d ago"
    old = NOW - 40 * 24 * HOUR
    assert relative_time(old, NOW) == time.strftime("%Y-%m-%d", time.localtime(old))


def test_marked_content_highlights_and_neutralises() -> None:
    content = marked_content(f"feed a {MARK_START}wombat{MARK_END} \x1b]0;owned\x07 now")
    assert "\x1b" not in content.plain and "\x07" not in content.plain
    assert MARK_START not in content.plain and MARK_END not in content.plain
    lit = [content.plain[s.start : s.end] for s in content.spans if s.style == HIGHLIGHT_STYLE]
    assert lit == ["wombat"]
    # A stray end mark is dropped; an unclosed mark lights the rest.
    assert marked_content(f"a{MARK_END}b").plain == "ab"
    tail = marked_content(f"x {MARK_START}yz")
    assert [tail.plain[s.start : s.end] for s in tail.spans] == ["yz"]


def test_export_path_helpers(tmp_path: Path) -> None:
    assert default_export_path(7, "md") == "~/lmtui-export-7.md"
    assert default_export_path(None, "json") == "~/lmtui-export-all.json"
    assert swap_extension("~/x.md", "json") == "~/x.json"
    assert swap_extension("~/x.json", "md") == "~/x.md"
    assert swap_extension("~/notes.txt", "json") == "~/notes.txt"
    assert check_export_path("~/out.md") == tmp_path / "home" / "out.md"
    (tmp_path / "taken.md").write_text("keep me")
    for bad, why in (
        ("", "No file"),
        (str(tmp_path), "is a directory"),
        (str(tmp_path / "taken.md"), "already exists"),
        (str(tmp_path / "missing" / "x.md"), "does not exist"),
    ):
        with pytest.raises(HistoryInputError, match=why):
            check_export_path(bad)


# ---- the screen -----------------------------------------------------------------------


async def test_lists_newest_first_with_details(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        assert shown_ids(browser) == [3, 2, 1]
        assert browser.total == 3
        assert "3 conversations" in str(browser.query_one("#history-title", Static).render())
        rust = prompt_of(browser, 1).plain
        assert rust.splitlines() == ["Rust lifetimes", "qwen-7b · 2 h ago · 3 messages"]
        assert prompt_of(browser, 0).plain.splitlines()[1].startswith("no model · ")
        assert prompt_of(browser, 2).plain.splitlines()[1].endswith("1 d ago · 2 messages")
        assert browser.option_list.highlighted == 0
        assert browser.option_list.has_focus


async def test_titles_are_made_inert(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        store.import_conversations([conv("evil \x1b]52;c;Zm9v\x07 title", 1, model="m\x1b[2J")])
        app = Host(store)
        async with app.run_test() as pilot:
            await pilot.pause()
            plain = prompt_of(app.browser, 0).plain
            assert "\x1b" not in plain and "\x07" not in plain
            assert "evil" in plain and "title" in plain


async def test_empty_history_says_so(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        app = Host(store)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.browser.option_list.option_count == 0
            assert status_text(app.browser) == "No saved conversations yet."
            await pilot.press("enter", "r", "d", "e")  # nothing to act on: nothing happens
            assert app.screen is app.browser
            await pilot.press("escape")
            assert app.result is None


async def test_search_as_you_type_shows_highlighted_snippets(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "wom")
        assert shown_ids(browser) == [1]
        lines = prompt_of(browser, 0).plain.splitlines()
        assert lines[0].startswith("Wombat care")
        snippet = prompt_of(browser, 0)
        lit = [snippet.plain[s.start : s.end] for s in snippet.spans if s.style == HIGHLIGHT_STYLE]
        assert lit and all(word.lower() == "wombat" for word in lit)
        assert "«" not in snippet.plain and MARK_START not in snippet.plain
        assert "1 conversation matches" in status_text(browser)

        # Keep typing: the hits follow the box; then clear it to get the list back.
        await pilot.press("space", *"xyz")
        await wait_until(pilot, lambda: browser.query_text == "wom xyz")
        assert shown_ids(browser) == []
        assert "No conversation matches" in status_text(browser)
        browser.search_input.value = ""
        await wait_until(pilot, lambda: not browser.searching)
        assert shown_ids(browser) == [3, 2, 1]


async def test_stale_search_results_are_dropped(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "pasta")
        assert shown_ids(browser) == [3]
        old = SearchHit(1, "Wombat care", "a «wombat»", -1.0, NOW)
        browser.show_hits("wombat", [old])  # a slow search for an older query finishing late
        assert shown_ids(browser) == [3]
        assert browser.query_text == "pasta"


async def test_a_bounded_search_says_only_the_newest_matches_were_ranked(
    store: HistoryStore,
) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "pasta")
        assert "best first" in status_text(browser)
        hit = SearchHit(3, "Pasta", "«pasta» night", -1.0, NOW)
        browser.show_hits("pasta", SearchHits([hit], ranked_newest=5000))
        assert "1 conversation matches “pasta” · best of the newest 5,000 matches" in (
            status_text(browser)
        )


async def test_search_characters_are_taken_literally(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        await type_search(pilot, 'sauce" -')
        assert shown_ids(app.browser) == [3]


async def test_enter_opens_the_highlighted_conversation(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.result == 2
        assert not isinstance(app.screen, HistoryBrowser)


async def test_enter_in_the_search_box_opens_the_first_hit(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        # Typed and Enter in one burst: the search is still running when Enter comes.
        await pilot.press("slash", *"lifetimes", "enter")
        await wait_until(pilot, lambda: app.result is not UNSET)
        assert app.result == 2


async def test_enter_in_the_search_box_with_no_hit_stays(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "zebra")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET and browser.search_input.has_focus
        assert "No conversation matches" in status_text(browser)


async def test_down_from_search_goes_to_the_hits(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "lifetimes")
        await pilot.press("down")
        assert browser.option_list.has_focus
        assert app.result is UNSET
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == 2


async def test_escape_leaves_search_then_closes(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await pilot.press("slash")
        assert browser.search_input.has_focus
        await pilot.press("escape")
        assert browser.option_list.has_focus
        assert app.result is UNSET
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None


async def test_rename_defaults_to_title_and_empty_means_auto_title(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await pilot.press("down", "r")
        await wait_until(pilot, lambda: isinstance(app.screen, RenamePrompt))
        field = app.screen.query_one("#rename-input", Input)
        assert field.value == "Rust lifetimes"
        field.value = "Borrow checker notes"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is browser)
        assert store.get_conversation(2)[0].title == "Borrow checker notes"
        assert prompt_of(browser, 1).plain.startswith("Borrow checker notes")
        assert browser.highlighted_id() == 2

        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RenamePrompt))
        app.screen.query_one("#rename-input", Input).value = "   "
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is browser)
        assert store.get_conversation(2)[0].title == "Explain lifetimes"

        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RenamePrompt))
        await pilot.press("x", "escape")
        await wait_until(pilot, lambda: app.screen is browser)
        assert store.get_conversation(2)[0].title == "Explain lifetimes"


async def test_delete_then_undo(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        assert browser.check_action("undo", ()) is False
        await pilot.press("down", "d")
        await pilot.pause()
        assert shown_ids(browser) == [3, 1]
        assert browser.highlighted_id() == 1  # the cursor stays where it was
        assert [s.id for s in store.list_conversations(trash=True)] == [2]
        assert store.count_conversations() == 2
        assert "2 conversations · 1 deleted" in str(
            browser.query_one("#history-title", Static).render()
        )
        await pilot.press("d")
        await pilot.pause()
        assert shown_ids(browser) == [3]

        await pilot.press("u")
        await pilot.pause()
        assert shown_ids(browser) == [3, 1]
        assert browser.highlighted_id() == 1
        await pilot.press("u")
        await pilot.pause()
        assert shown_ids(browser) == [3, 2, 1]
        assert browser.highlighted_id() == 2
        assert store.list_conversations(trash=True) == []
        assert browser.check_action("undo", ()) is False


async def test_delete_from_search_results(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await type_search(pilot, "sauce")
        await pilot.press("down")  # to the results
        await pilot.press("d")
        await wait_until(pilot, lambda: shown_ids(browser) == [])
        assert store.count_conversations() == 2
        await pilot.press("u")
        await wait_until(pilot, lambda: shown_ids(browser) == [3])
        assert browser.query_text == "sauce"


async def test_export_one_as_markdown_and_all_as_json(store: HistoryStore, tmp_path: Path) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await pilot.press("down", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        path_input = app.screen.query_one("#export-path", Input)
        assert path_input.value == "~/lmtui-export-2.md"
        await pilot.press("enter")  # the default path, under $HOME
        await wait_until(pilot, lambda: app.screen is browser)
        await app.workers.wait_for_complete()
        one = tmp_path / "home" / "lmtui-export-2.md"
        assert stat.S_IMODE(one.stat().st_mode) == 0o600
        text = one.read_text(encoding="utf-8")
        assert text.startswith("# Rust lifetimes")
        assert "Wombat" not in text

        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        prompt = app.screen
        assert isinstance(prompt, ExportPrompt)
        assert prompt.query_one("#export-path", Input).value == "~/lmtui-export-all.md"
        target = tmp_path / "all.json"
        prompt.query_one("#export-path", Input).value = str(target)
        await pilot.pause()
        assert prompt.fmt == "json"  # a .json name picks the format
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is browser)
        await app.workers.wait_for_complete()
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        exported = json.loads(target.read_text(encoding="utf-8"))
        titles = {c["title"] for c in exported["conversations"]}
        assert titles == {"Wombat care", "Rust lifetimes", "Pasta sauce"}


async def test_export_format_switch_changes_extension(store: HistoryStore, tmp_path: Path) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        prompt = app.screen
        assert isinstance(prompt, ExportPrompt)
        await pilot.press("tab")  # to the format buttons
        await pilot.press("right", "enter")
        await pilot.pause()
        assert prompt.fmt == "json"
        assert prompt.query_one("#export-path", Input).value == "~/lmtui-export-3.json"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.browser
        assert not (tmp_path / "home" / "lmtui-export-3.json").exists()


async def test_export_never_overwrites(store: HistoryStore, tmp_path: Path) -> None:
    taken = tmp_path / "taken.md"
    taken.write_text("precious", encoding="utf-8")
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        prompt = app.screen
        prompt.query_one("#export-path", Input).value = str(taken)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt  # the dialog stays open with the reason
        error = str(prompt.query_one("#export-error", Static).render())
        assert "already exists" in error
        assert taken.read_text(encoding="utf-8") == "precious"


async def test_unavailable_history_is_reported_not_fatal(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.close()
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        assert "history is not available" in status_text(browser)
        await pilot.press("slash", "x")
        await wait_until(pilot, lambda: "history is not available" in status_text(browser))
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.result is None


async def test_ten_thousand_conversations_page_in(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "big.sqlite3") as store:
        store.import_conversations(
            [
                conv(f"Conversation {i}", 10_000 - i, (f"question {i}", f"answer {i}"))
                for i in range(10_000)
            ]
        )
        app = Host(store)
        async with app.run_test() as pilot:
            await pilot.pause()
            browser = app.browser
            assert browser.total == 10_000
            assert "10,000 conversations" in str(
                browser.query_one("#history-title", Static).render()
            )
            assert browser.option_list.option_count == PAGE_SIZE
            assert prompt_of(browser, 0).plain.startswith("Conversation 9999")
            assert f"{PAGE_SIZE} of 10,000 conversations loaded" == status_text(browser)
            await pilot.press("end")
            await wait_until(pilot, lambda: browser.option_list.option_count == 2 * PAGE_SIZE)
            assert len(set(shown_ids(browser))) == 2 * PAGE_SIZE
            assert prompt_of(browser, 2 * PAGE_SIZE - 1).plain.startswith(
                f"Conversation {10_000 - 2 * PAGE_SIZE}"
            )
            await type_search(pilot, "question 4242")
            assert shown_ids(browser) == [4243]


async def test_fits_80_by_24(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        browser = app.browser
        screen_region = browser.region
        for widget in (
            browser.query_one("#history-title"),
            browser.search_input,
            browser.option_list,
            browser.query_one("#history-status"),
            browser.query_one(Footer),
        ):
            assert screen_region.contains_region(widget.region), widget
        assert browser.option_list.region.height >= 12
        shown = {a.binding.id for a in browser.active_bindings.values() if a.binding.show}
        assert {"history.open", "history.rename", "history.delete", "history.close"} <= shown


async def test_list_keys_leave_the_footer_while_typing(store: HistoryStore) -> None:
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        await pilot.press("slash", "r", "d")  # typed into the box, not acted on
        assert browser.search_input.value == "rd"
        assert store.count_conversations() == 3
        ids = {a.binding.id for a in browser.active_bindings.values()}
        assert "history.rename" not in ids and "history.delete" not in ids
        assert "history.open" in ids


async def test_undo_brings_back_the_last_row_when_all_were_paged_in(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lmtui.ui.history_browser.PAGE_SIZE", 2)
    app = Host(store)
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        assert shown_ids(browser)[:2] == [3, 2]
        await pilot.press("end")
        await wait_until(pilot, lambda: shown_ids(browser) == [3, 2, 1])
        await pilot.press("end", "d")
        await wait_until(pilot, lambda: shown_ids(browser) == [3, 2])
        await pilot.press("u")
        await wait_until(pilot, lambda: shown_ids(browser) == [3, 2, 1])
        assert browser.highlighted_id() == 1


async def test_keys_can_be_remapped_by_id(store: HistoryStore) -> None:
    assert {"history.open", "history.rename", "history.delete", "history.undo"} <= set(KEY_IDS)
    app = Host(store)
    app.set_keymap({"history.rename": "n"})
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RenamePrompt))


async def test_a_long_search_never_holds_up_paging(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 1,000,000 messages a one-letter prefix search runs for a minute; the list must
    # still page (on the screen's store) meanwhile, so the search has a connection of its own.
    import threading

    monkeypatch.setattr("lmtui.ui.history_browser.PAGE_SIZE", 2)
    app = Host(store)
    gate = threading.Event()
    async with app.run_test() as pilot:
        await pilot.pause()
        browser = app.browser
        searcher = browser._search_store()
        assert searcher is not store and searcher._conn is not None
        # The search's SQL stops (in SQLite's progress handler) until the gate opens.
        searcher._conn.set_progress_handler(lambda: gate.wait(10) and 0, 1)
        try:
            await pilot.press("slash", "h")
            await wait_until(pilot, lambda: browser._search_in_flight)
            browser.option_list.focus()
            await pilot.press("end")
            await wait_until(pilot, lambda: shown_ids(browser) == [3, 2, 1])
            assert browser._search_in_flight and not gate.is_set()  # paged during the search
        finally:
            gate.set()
        await wait_until(pilot, lambda: browser.query_text == "h")
        assert [h.conversation_id for h in browser.hits] == [1]  # "How do I feed a wombat?"
