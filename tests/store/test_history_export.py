"""Export (Markdown, lmtui JSON) and import (JSON Lines, lmtui JSON)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmtui.store.history import HistoryInputError, HistoryStore, HistoryUnavailable, make_title

# Lone surrogates cannot be encoded as UTF-8, so no file or database could hold them.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant"]),
            "content": texts | st.sampled_from(["line one\nline two\r\n", "emoji 🦀 ünïcödé"]),
            "reasoning": texts,
        }
    ),
    max_size=5,
)
conversations = st.lists(
    st.fixed_dictionaries({"title": texts, "model": st.none() | texts, "messages": messages}),
    min_size=1,
    max_size=4,
)


def _fill(store: HistoryStore, convs: list[dict[str, Any]]) -> None:
    for conv in convs:
        cid = store.create_conversation(conv["title"], model=conv["model"], server="srv")
        for m in conv["messages"]:
            store.add_message(
                cid,
                m["role"],
                m["content"],
                reasoning=m["reasoning"],
                params={"temperature": 0.7},
                usage={"total_tokens": 3} if m["role"] == "assistant" else None,
                finish_reason="stop" if m["role"] == "assistant" else None,
            )


def _exported(store: HistoryStore) -> list[Any]:
    doc = json.loads(store.export(None, "json"))
    assert doc["lmtui_export"] == 1
    conversations: list[Any] = doc["conversations"]
    return conversations


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(convs=conversations)
def test_json_export_import_round_trip(convs: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with HistoryStore(root / "a.sqlite3") as a:
            _fill(a, convs)
            text = a.export(None, "json")
            before = _exported(a)
        (root / "export.json").write_text(text, encoding="utf-8")
        with HistoryStore(root / "b.sqlite3") as b:
            assert b.import_file(root / "export.json") == len(convs)
            after = _exported(b)
    assert after == before
    assert [len(c["messages"]) for c in after] == [len(c["messages"]) for c in convs]
    assert [m["content"] for c in after for m in c["messages"]] == [
        m["content"] for c in convs for m in c["messages"]
    ]


@settings(max_examples=40, deadline=None)
@given(convs=conversations, with_titles=st.booleans())
def test_jsonl_import(convs: list[dict[str, Any]], with_titles: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lines = []
        for c in convs:
            line: dict[str, Any] = {
                "messages": [{"role": m["role"], "content": m["content"]} for m in c["messages"]]
            }
            if with_titles:
                line["title"] = c["title"]
            lines.append(json.dumps(line))
        path = root / "in.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with HistoryStore(root / "h.sqlite3") as store:
            assert store.import_file(path) == len(convs)
            stored = [store.get_conversation(s.id) for s in store.list_conversations(limit=None)]
    stored.sort(key=lambda pair: pair[0].id)
    for conv, (summary, records) in zip(convs, stored, strict=True):
        assert [(r.role, r.content) for r in records] == [
            (m["role"], m["content"]) for m in conv["messages"]
        ]
        first_user = next((m["content"] for m in conv["messages"] if m["role"] == "user"), "")
        title = " ".join(conv["title"].split()) if with_titles else ""
        assert summary.title == (title or make_title(first_user))


def test_jsonl_with_blank_lines_and_crlf(store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"title": "One", "messages": [{"role": "user", "content": "hi"}]}\r\n'
        b"\r\n"
        b'{"title": "Two", "messages": []}\r\n'
    )
    assert store.import_file(path) == 2
    assert sorted(s.title for s in store.list_conversations()) == ["One", "Two"]


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', 'with a "messages" list'),
        ('{"title": "x"}', '"messages" must be a list'),
        ('{"messages": [{"role": "user"}]}', 'message 1: "content" must be a string'),
        ('{"messages": [{"role": "wizard", "content": "x"}]}', '"role" must be one of'),
        ('{"title": 5, "messages": []}', '"title" must be a string'),
        ('{"messages": ["hello"]}', "message 1: must be an object"),
    ],
)
def test_bad_line_names_its_number_and_imports_nothing(
    store: HistoryStore, tmp_path: Path, bad_line: str, fragment: str
) -> None:
    store.create_conversation("already here")
    good = '{"title": "good", "messages": [{"role": "user", "content": "fine"}]}'
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([good, good, "", bad_line, good]) + "\n", encoding="utf-8")
    with pytest.raises(HistoryInputError) as info:
        store.import_file(path)
    assert info.value.message.startswith(f"{path}: line 4")
    assert fragment in info.value.message
    assert "nothing was imported" in info.value.remedy
    assert [s.title for s in store.list_conversations()] == ["already here"]


def test_bad_conversation_in_lmtui_export_is_named(store: HistoryStore, tmp_path: Path) -> None:
    doc = {
        "lmtui_export": 1,
        "conversations": [
            {"title": "ok", "messages": []},
            {"title": "bad", "messages": [{"role": "user", "content": "x", "created": "now"}]},
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(HistoryInputError, match=r"conversation 2, message 1: \"created\""):
        store.import_file(path)
    assert store.count_conversations() == 0


def test_newer_export_version_is_refused(store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"lmtui_export": 99, "conversations": []}), encoding="utf-8")
    with pytest.raises(HistoryInputError, match="version 99"):
        store.import_file(path)


def test_unreadable_import_file(store: HistoryStore, tmp_path: Path) -> None:
    with pytest.raises(HistoryInputError, match="Cannot read"):
        store.import_file(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HistoryInputError, match="Cannot read"):
        store.import_file(binary)


def test_imported_streaming_reply_becomes_interrupted(store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    line = {"messages": [{"role": "assistant", "content": "half", "state": "streaming"}]}
    path.write_text(json.dumps(line), encoding="utf-8")
    store.import_file(path)
    (summary,) = store.list_conversations()
    assert store.messages(summary.id)[0].state == "interrupted"


def test_imported_text_is_searchable(store: HistoryStore, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"messages": [{"role": "user", "content": "about the quokka"}]}),
        encoding="utf-8",
    )
    store.import_file(path)
    (hit,) = store.search("quokka")
    assert hit.title == "about the quokka"
    # The bulk import put the index triggers back: new writes are searchable.
    cid = store.create_conversation("Wallaby notes")
    store.add_message(cid, "user", "a numbat appears")
    assert [h.conversation_id for h in store.search("numbat")] == [cid]
    assert [h.conversation_id for h in store.search("wallaby")] == [cid]


def test_import_that_fails_midway_keeps_nothing_and_indexing_works(
    store: HistoryStore, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    line = json.dumps({"messages": [{"role": "user", "content": "bilby " * 20_000}]})
    path.write_text(line, encoding="utf-8")
    conn = store._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(HistoryUnavailable, match="full"):
        store.import_file(path)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.count_conversations() == 0
    assert store.search("bilby") == []
    cid = store.create_conversation("after")
    store.add_message(cid, "user", "a numbat appears")
    assert [h.conversation_id for h in store.search("numbat")] == [cid]


def test_markdown_export(store: HistoryStore) -> None:
    cid = store.create_conversation("Fence test", model="m1")
    store.add_message(cid, "user", "Show me code")
    store.add_message(
        cid,
        "assistant",
        "```py\nprint(1)\n```",
        reasoning="use ``` fences",
        model_used="m1-q8",
        finish_reason="length",
    )
    store.add_message(cid, "assistant", "", state="error", error="server went away")
    md = store.export([cid], "md")
    assert md.startswith("# Fence test\n")
    assert "model m1" in md
    assert "## User\n\nShow me code" in md
    assert "## Assistant · m1-q8 · finish: length\n" in md
    assert "<details><summary>Reasoning</summary>\n\n````text\nuse ``` fences\n````" in md
    assert "```py\nprint(1)\n```" in md
    assert "## Assistant · error" in md
    assert "> Error: server went away" in md


def test_export_of_several_and_of_all(store: HistoryStore) -> None:
    a = store.create_conversation("Alpha")
    b = store.create_conversation("Beta")
    gone = store.create_conversation("Gamma")
    store.delete_conversation(gone)
    md = store.export([b, a], "md")
    assert md.index("# Beta") < md.index("# Alpha")
    assert "\n---\n" in md
    titles = [c["title"] for c in _exported(store)]
    assert titles == ["Alpha", "Beta"]


def test_export_never_contains_a_token(store: HistoryStore) -> None:
    cid = store.create_conversation("t")
    store.begin_reply(cid, params={"temperature": 0.1}, server="http://localhost:1234").finish(
        "complete"
    )
    text = store.export(None, "json")
    assert "token" not in text.lower().replace("total_tokens", "")


def test_plain_and_full_imports_store_the_same_rows(tmp_path: Path) -> None:
    # A file of roles and contents only takes the lean insert (other columns left to
    # their defaults); a message with one more field sends the whole file through the
    # full insert. The plain messages must read back the same either way.
    plain = [
        {
            "title": f"c{i}",
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ],
        }
        for i in range(3)
    ]
    full = [
        *plain,
        {"title": "extra", "messages": [{"role": "assistant", "content": "x", "model": "m"}]},
    ]
    read: list[list[tuple[Any, ...]]] = []
    for name, convs in (("plain", plain), ("full", full)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(json.dumps(c) for c in convs), encoding="utf-8")
        with HistoryStore(tmp_path / f"{name}.sqlite3") as store:
            store.import_file(path)
            rows = []
            for summary in sorted(store.list_conversations(), key=lambda s: s.id)[:3]:
                _, records = store.get_conversation(summary.id)
                rows.extend(
                    (summary.title, r.role, r.content, r.reasoning, r.attachments, r.params,
                     r.model_used, r.state, r.error, r.usage, r.facts, r.created > 0)
                    for r in records
                )  # fmt: skip
            read.append(rows)
            assert store.search("q1")  # indexed either way
    assert read[0] == read[1]
    assert [r[2] for r in read[0]] == ["q0", "a0", "q1", "a1", "q2", "a2"]
