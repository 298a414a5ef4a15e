"""Tool calls and /api/v1/chat facts in history (schema 4): kept, searched, exported, imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmtui.backend.types import ToolCall
from lmtui.store.history import HistoryInputError, HistoryStore
from lmtui.store.history_native import ReplyFacts

FETCH = ToolCall(
    "call_1",
    "fetch_page",
    '{"url": "https://example.com/okapi"}',
    "mcp/playwright",
    output="The okapi is a giraffid native to the Congo.",
)
BROKEN = ToolCall("call_2", "screenshot", "{}", "docs-server", failure="Browser not installed")
FACTS = ReplyFacts(
    response_id="resp_abc123",
    response_server="http://127.0.0.1:1234",
    route="native",
    load_seconds=3.5,
    prompt_seconds=0.25,
    tool_calls=(FETCH, BROKEN),
)


def _conversation_with_tools(store: HistoryStore) -> tuple[int, int]:
    cid = store.create_conversation("Animals", model="m")
    store.add_message(cid, "user", "What is an okapi?")
    mid = store.add_message(cid, "assistant", "A forest giraffe.")
    store.save_reply_facts(mid, FACTS)
    return cid, mid


def test_facts_and_tool_calls_are_kept_in_order(store: HistoryStore) -> None:
    cid, mid = _conversation_with_tools(store)
    reply = store.get_conversation(cid)[1][-1]
    assert reply.id == mid
    assert reply.facts == FACTS
    assert store.get_conversation(cid)[1][0].tool_calls == ()


def test_saving_again_replaces_the_calls(store: HistoryStore) -> None:
    cid, mid = _conversation_with_tools(store)
    store.save_reply_facts(mid, ReplyFacts(response_id="resp_2", tool_calls=(BROKEN,)))
    reply = store.get_conversation(cid)[1][-1]
    assert reply.tool_calls == (BROKEN,) and reply.response_id == "resp_2"
    assert store.search("giraffid") == []


def test_search_finds_a_tool_output_and_names_the_tool(store: HistoryStore) -> None:
    cid, _ = _conversation_with_tools(store)
    hits = store.search("giraffid")
    assert [h.conversation_id for h in hits] == [cid]
    assert hits[0].snippet.startswith("[tool fetch_page]")
    assert "«giraffid»" in hits[0].snippet
    # Failure reasons and arguments are searchable too.
    assert [h.conversation_id for h in store.search("installed")] == [cid]
    assert [h.conversation_id for h in store.search("example")] == [cid]


def test_deleting_the_message_forgets_its_calls(store: HistoryStore) -> None:
    _, mid = _conversation_with_tools(store)
    store.delete_message(mid)
    assert store.search("giraffid") == []
    # A purged conversation takes its calls along (ON DELETE CASCADE fires the FTS trigger).
    cid, _ = _conversation_with_tools(store)
    store.delete_conversation(cid)
    store.purge_deleted()
    assert store.search("giraffid") == []
    assert store._read("SELECT rowid FROM tool_calls_fts WHERE tool_calls_fts MATCH 'okapi'") == []


def test_export_import_round_trip_keeps_tool_calls(store: HistoryStore, tmp_path: Path) -> None:
    cid, _ = _conversation_with_tools(store)
    exported = store.export([cid], "json")
    doc = json.loads(exported)
    assert doc["conversations"][0]["messages"][1]["tool_calls"][0]["name"] == "fetch_page"
    path = tmp_path / "export.json"
    path.write_text(exported, encoding="utf-8")
    with HistoryStore(tmp_path / "other.sqlite3") as other:
        assert other.import_file(path) == 1
        (new,) = other.list_conversations()
        reply = other.get_conversation(new.id)[1][-1]
        assert reply.facts == FACTS
        assert [h.conversation_id for h in other.search("giraffid")] == [new.id]


def test_markdown_export_shows_each_call(store: HistoryStore) -> None:
    cid, _ = _conversation_with_tools(store)
    md = store.export([cid], "md")
    assert "Tool call: fetch_page (mcp/playwright)" in md
    assert "Tool call: screenshot (docs-server) · failed" in md
    assert "failure: Browser not installed" in md


@pytest.mark.parametrize(
    ("calls", "named"),
    [("nope", '"tool_calls" must be a list'), ([{"id": "x"}], 'needs a "name"')],
)
def test_bad_tool_calls_in_an_import_are_named(
    store: HistoryStore, tmp_path: Path, calls: object, named: str
) -> None:
    line = {"messages": [{"role": "assistant", "content": "x", "tool_calls": calls}]}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(HistoryInputError, match=named):
        store.import_file(path)
    assert store.list_conversations() == []
