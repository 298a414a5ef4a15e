"""Pilot tests of the semantic search, compare and batch screens on a bare host app."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Button, Checkbox, Input, OptionList, SelectionList, Static, TextArea

from lmtui.backend.client import LMStudioClient
from lmtui.store.history import HistoryStore
from lmtui.store.vectors import VectorStore
from lmtui.ui.workbench import BatchScreen, CompareScreen, SemanticSearchScreen
from lmtui.ui.workbench.common import StreamText
from tests.fake_server import FakeServer, Reply
from tests.workbench.helpers import CHAT_MODEL, EMBEDDER, Host, add_conversation, wait_until

SIZE = (150, 45)
UNLOADED = "deepseek-r1-distill-qwen-14b"  # listed but not loaded: the fake server refuses it


def _text(app: Host, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_index_search_and_open_a_conversation(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore, db_path: Path
) -> None:
    add_conversation(history, "planting tomato seedlings in spring", "wait for warm nights")
    wanted = add_conversation(history, "python keyerror when reading a dict")
    add_conversation(history, "museums to visit in paris")
    models = await client.list_models()
    app = Host(lambda: SemanticSearchScreen(client, models, history=history))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: "4 to index" in _text(app, "#index-state"))
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "up to date" in _text(app, "#index-state"))
        assert "4 message(s) indexed" in _text(app, "#index-state")

        query = screen.query_one("#query", Input)
        query.focus()
        query.value = "keyerror dict"
        await pilot.press("enter")
        results = screen.query_one("#results", OptionList)
        await wait_until(pilot, lambda: results.option_count > 0)
        first = results.get_option_at_index(0)
        assert first.id == str(wanted)
        assert "meaning + words" in str(first.prompt)

        await pilot.press("enter")  # the results list has focus, the best hit highlighted
        await wait_until(pilot, lambda: app.opened == [wanted])
        assert app.screen is not screen
    with VectorStore(db_path) as vectors:
        assert vectors.count_indexed(EMBEDDER) == 4


async def test_search_with_nothing_indexed_says_so(
    client: LMStudioClient, history: HistoryStore
) -> None:
    add_conversation(history, "something")
    models = await client.list_models()
    app = Host(lambda: SemanticSearchScreen(client, models, history=history))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#words", Checkbox).value = False
        app.screen.query_one("#query", Input).value = "anything at all"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "Nothing found" in _text(app, "#status"))
        assert "nothing is indexed" in _text(app, "#status")


async def test_compare_one_column_fails_the_other_is_kept(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore
) -> None:
    models = await client.list_models()
    app = Host(lambda: CompareScreen(client, models, history=history))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        targets = screen.query_one("#targets", SelectionList)
        assert list(targets.selected) == [f"model:{CHAT_MODEL}"]
        targets.select(f"model:{UNLOADED}")
        screen.query_one("#prompt", TextArea).text = "Name three rivers"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "Done" in _text(app, "#status"))

        assert "(1 failed)" in _text(app, "#status")
        assert screen.query_one("#out-0", StreamText).text == "Name three rivers"
        assert "finish: stop" in _text(app, "#stat-0")
        assert "tok/s" in _text(app, "#stat-0") and "first token" in _text(app, "#stat-0")
        assert "error:" in _text(app, "#stat-1") and UNLOADED in _text(app, "#stat-1")
        assert screen.query_one("#keep-1", Button).disabled

        await pilot.click("#keep-0")
        await wait_until(pilot, lambda: "kept as conversation" in _text(app, "#stat-0"))
    (summary,) = history.list_conversations()
    _, messages = history.get_conversation(summary.id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Name three rivers"),
        ("assistant", "Name three rivers"),
    ]
    assert messages[1].model_used == CHAT_MODEL and messages[1].finish_reason == "stop"


async def test_compare_escape_stops_every_column(
    fake_server: FakeServer, client: LMStudioClient, history: HistoryStore
) -> None:
    fake_server.enqueue(Reply(deltas=["slow "] * 300, delta_delay=0.02))
    models = await client.list_models()
    app = Host(lambda: CompareScreen(client, models, history=history))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#prompt", TextArea).text = "go"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: bool(screen.query("#out-0")))
        out = screen.query_one("#out-0", StreamText)
        await wait_until(pilot, lambda: out.text.count("slow") >= 2)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "Stopped" in _text(app, "#status"))
        assert "finish: stopped" in _text(app, "#stat-0")
        assert not screen.query_one("#keep-0", Button).disabled
        assert app.screen is screen


async def test_batch_screen_resumes_and_reports(
    fake_server: FakeServer, client: LMStudioClient, tmp_path: Path
) -> None:
    source = tmp_path / "prompts.jsonl"
    prompts = [f"prompt number {i}" for i in range(5)]
    source.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    out = tmp_path / "prompts.out.jsonl"
    done_before = [
        {"index": i, "input": {"prompt": prompts[i]}, "output": "x", "error": None} for i in (0, 3)
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in done_before))
    models = await client.list_models()
    app = Host(lambda: BatchScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        field = screen.query_one("#input", Input)
        field.value = str(source)
        field.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "5 row(s)" in _text(app, "#plan"))
        assert "2 already done" in _text(app, "#plan") and "3 to run" in _text(app, "#plan")
        screen.query_one("#concurrency", Input).value = "2"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "Finished" in _text(app, "#status"))
        assert "3 done, 2 already done" in _text(app, "#status")
        assert isinstance(screen, BatchScreen)
        assert screen.progress is not None and screen.progress.total == 5

    sent = sorted(
        r.json_body["messages"][-1]["content"]
        for r in fake_server.requests_to("/v1/chat/completions")
    )
    assert sent == [prompts[1], prompts[2], prompts[4]]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[2]["output"] == prompts[2] and rows[2]["model"] == CHAT_MODEL


async def test_batch_screen_rejects_bad_input(client: LMStudioClient, tmp_path: Path) -> None:
    models = await client.list_models()
    app = Host(lambda: BatchScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "Give the input file" in _text(app, "#status")
        screen.query_one("#input", Input).value = str(tmp_path / "missing.jsonl")
        screen.query_one("#concurrency", Input).value = "0"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "between 1 and" in _text(app, "#status")
        screen.query_one("#concurrency", Input).value = "1"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "Cannot read" in _text(app, "#status"))


async def test_compare_targets_show_ticked_rows_apart_from_unticked(
    client: LMStudioClient, history: HistoryStore
) -> None:
    models = await client.list_models()
    app = Host(lambda: CompareScreen(client, models, history=history))
    async with app.run_test(size=SIZE) as pilot:
        targets = app.screen.query_one("#targets", SelectionList)
        await pilot.pause()
        rows = [targets.render_line(y).text for y in range(targets.option_count)]
        ticked = [row for row in rows if CHAT_MODEL in row]
        assert ticked and all("✓" in row for row in ticked)
        unticked = [row for row in rows if CHAT_MODEL not in row]
        assert unticked and not any("✓" in row or "X" in row[:4] for row in unticked)
