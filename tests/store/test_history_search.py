"""Full-text search: exact conversation sets, ranking, snippets, hostile queries."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.store.history import HistoryStore, fts_query

VOCABULARY = ("apple", "berry", "cherry", "damson", "elder", "fig")

corpora = st.lists(
    st.tuples(
        st.lists(st.sampled_from(VOCABULARY), max_size=3),  # title words
        st.lists(st.lists(st.sampled_from(VOCABULARY), max_size=6), max_size=4),  # messages
        st.booleans(),  # deleted
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(corpus=corpora)
def test_search_returns_exactly_the_conversations_with_the_word(
    corpus: list[tuple[list[str], list[list[str]], bool]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "h.sqlite3") as store:
        expected: dict[str, set[int]] = {w: set() for w in VOCABULARY}
        for title_words, messages, deleted in corpus:
            cid = store.create_conversation(" ".join(["Chat", *title_words]))
            for words in messages:
                store.add_message(cid, "user", " ".join(["says", *words]) + ".")
            if deleted:
                store.delete_conversation(cid)
                continue
            for w in {*title_words, *(w for words in messages for w in words)}:
                expected[w].add(cid)
        for word in VOCABULARY:
            hits = store.search(word, limit=None)
            ids = [h.conversation_id for h in hits]
            assert len(ids) == len(set(ids)), "one hit per conversation"
            assert set(ids) == expected[word]
            for h in hits:
                assert f"«{word}»" in h.snippet


def test_all_words_must_match(store: HistoryStore) -> None:
    both = store.create_conversation("first")
    store.add_message(both, "user", "red kite over the hill")
    one = store.create_conversation("second")
    store.add_message(one, "user", "red squirrel")
    assert {h.conversation_id for h in store.search("red")} == {both, one}
    assert [h.conversation_id for h in store.search("red kite")] == [both]
    assert [h.conversation_id for h in store.search("kite red")] == [both]


def test_snippet_highlights_the_match_with_chosen_marks(store: HistoryStore) -> None:
    cid = store.create_conversation("Notes")
    store.add_message(cid, "user", "intro text")
    store.add_message(cid, "assistant", "The quick brown fox\njumps over the lazy dog")
    (hit,) = store.search("fox")
    assert hit.conversation_id == cid
    assert hit.title == "Notes"
    assert hit.snippet == "The quick brown «fox» jumps over the lazy dog"
    (hit,) = store.search("FOX", marks=("<b>", "</b>"))
    assert "<b>fox</b>" in hit.snippet


def test_snippet_of_a_long_message_is_short(store: HistoryStore) -> None:
    cid = store.create_conversation("Long")
    words = [f"w{i}" for i in range(500)]
    words[250] = "needle"
    store.add_message(cid, "assistant", " ".join(words))
    (hit,) = store.search("needle")
    assert "«needle»" in hit.snippet
    assert len(hit.snippet.split()) <= 20
    assert "…" in hit.snippet


def test_title_only_match_is_highlighted_in_the_title(store: HistoryStore) -> None:
    cid = store.create_conversation("Quarterly budget review")
    store.add_message(cid, "user", "numbers please")
    (hit,) = store.search("budget")
    assert hit.snippet == "Quarterly «budget» review"


def test_title_match_ranks_first(store: HistoryStore) -> None:
    plain = store.create_conversation("Misc")
    store.add_message(plain, "user", "a question about rust lifetimes")
    titled = store.create_conversation("Rust help")
    store.add_message(titled, "user", "a question about rust lifetimes")
    hits = store.search("rust")
    assert [h.conversation_id for h in hits] == [titled, plain]
    assert hits[0].rank < hits[1].rank


def test_diacritics_and_case_are_ignored(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "Un Café au lait à Zürich")
    assert [h.conversation_id for h in store.search("cafe zurich")] == [cid]
    assert [h.conversation_id for h in store.search("CAFÉ")] == [cid]


def test_prefix_search_for_search_as_you_type(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "configuration files")
    assert store.search("config") == []
    assert [h.conversation_id for h in store.search("config", prefix=True)] == [cid]


def test_limit(store: HistoryStore) -> None:
    for i in range(5):
        store.add_message(store.create_conversation(f"c{i}"), "user", "common word")
    assert len(store.search("common", limit=2)) == 2
    assert len(store.search("common", limit=None)) == 5


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "-",
        ":",
        'a"b',
        "fox*",
        "-fox",
        "title:fox",
        "NEAR(fox",
        "fox AND",
        "(",
        ")",
        "^fox",
        '""',
        "'",
        'fox OR "',
        "+",
        "fox NOT",
        "{fox}",
        "col : fox",
        "a-b-c",
        "\\",
        "%",
    ],
)
def test_fts_syntax_in_queries_is_literal(store: HistoryStore, query: str) -> None:
    cid = store.create_conversation("plain")
    store.add_message(cid, "user", "the fox said a-b-c to the OR gate")
    hits = store.search(query)
    ids = [h.conversation_id for h in hits]
    if query in ("fox*", "-fox", "^fox", "{fox}", "a-b-c", '"fox"'):
        assert ids == [cid]
    elif not any(ch.isalnum() for ch in query):
        assert ids == []


@pytest.mark.parametrize("query", ['"fox"', "fox*", "-fox", "fox:", "(fox)"])
def test_punctuated_word_still_finds_it(store: HistoryStore, query: str) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "a fox")
    assert [h.conversation_id for h in store.search(query)] == [cid]


@settings(max_examples=150, deadline=None)
@given(query=st.text(max_size=30))
def test_any_query_text_is_safe(query: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "h.sqlite3") as store:
        store.add_message(store.create_conversation("t"), "user", "some words here")
        hits = store.search(query)
        assert all(h.conversation_id == 1 for h in hits)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('say "hi" NEAR x*') == '"say" """hi""" "NEAR" "x*"'
    assert fts_query("-- ** ::") is None
    assert fts_query("config", prefix=True) == '"config"*'
