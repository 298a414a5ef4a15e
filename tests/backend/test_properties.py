"""Property tests: delta assembly does not depend on where deltas are cut, and
``classify_error`` turns anything into a typed error."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

from hypothesis import example, given
from hypothesis import strategies as st

from lmtui.backend.assembly import StreamAssembler, ThinkSplitter
from lmtui.backend.errors import LmtuiError, classify_error
from lmtui.backend.types import ContentDelta, ContentWasReasoning, ReasoningDelta, StreamEvent

# Text rich in tag fragments, so cuts often land inside "<think>" and "</think>".
FRAGMENTS = [
    "<think>",
    "</think>",
    "<",
    ">",
    "/",
    "<th",
    "ink>",
    "</",
    "think",
    "a",
    " ",
    "é",
    "\n",
]
tag_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=30).map("".join)


def split_at(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut at the given positions (any order, duplicates allowed)."""
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def fold(events: Sequence[StreamEvent]) -> tuple[str, str]:
    content = reasoning = ""
    for e in events:
        if isinstance(e, ContentDelta):
            content += e.text
        elif isinstance(e, ReasoningDelta):
            reasoning += e.text
        elif isinstance(e, ContentWasReasoning):  # a close-only </think>
            content, reasoning = "", reasoning + content
    return content, reasoning


def split_whole(text: str) -> tuple[str, str]:
    splitter = ThinkSplitter()
    return fold([*splitter.feed(text), *splitter.flush()])


@given(tag_text, st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
@example("<think>why</think>answer", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
@example("a<b</think>c", [2, 5])
def test_think_splitter_ignores_where_deltas_are_cut(text: str, cuts: list[int]) -> None:
    splitter = ThinkSplitter()
    events: list[StreamEvent] = []
    for piece in split_at(text, cuts):
        events.extend(splitter.feed(piece))
    events.extend(splitter.flush())
    assert fold(events) == split_whole(text)
    assert all(e.text for e in events if not isinstance(e, ContentWasReasoning))  # none empty


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="<"), max_size=8), max_size=7),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
)
def test_think_splitter_separates_known_segments(segments: list[str], cuts: list[int]) -> None:
    # Even segments are answer, odd ones reasoning: joined with tags, then cut anywhere.
    text = "".join(
        seg + ("<think>" if i % 2 == 0 else "</think>") if i < len(segments) - 1 else seg
        for i, seg in enumerate(segments)
    )
    splitter = ThinkSplitter()
    events: list[StreamEvent] = []
    for piece in split_at(text, cuts):
        events.extend(splitter.feed(piece))
    events.extend(splitter.flush())
    assert fold(events) == ("".join(segments[0::2]), "".join(segments[1::2]))


@given(tag_text)
def test_text_without_tags_is_all_content(text: str) -> None:
    plain = text.replace("<", "(")
    assert split_whole(plain) == (plain, "")


def chat_chunk(delta: dict[str, str], finish: str | None = None) -> str:
    return json.dumps(
        {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )


@given(
    tag_text,
    st.text(max_size=40),
    st.sampled_from(["reasoning_content", "reasoning"]),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
)
def test_stream_assembler_ignores_where_deltas_are_cut(
    content: str, reasoning: str, key: str, content_cuts: list[int], reasoning_cuts: list[int]
) -> None:
    whole = StreamAssembler()
    expected_events = [
        *whole.feed(chat_chunk({key: reasoning})),
        *whole.feed(chat_chunk({"content": content}, "stop")),
        *whole.flush(),
    ]
    cut = StreamAssembler()
    events: list[StreamEvent] = []
    for piece in split_at(reasoning, reasoning_cuts):
        events.extend(cut.feed(chat_chunk({key: piece})))
    for piece in split_at(content, content_cuts):
        events.extend(cut.feed(chat_chunk({"content": piece})))
    events.extend(cut.feed(chat_chunk({}, "stop")))
    events.extend(cut.feed("[DONE]"))
    events.extend(cut.flush())
    assert fold(events) == fold(expected_events)
    inline_content, inline_reasoning = split_whole(content)
    assert fold(events) == (inline_content, reasoning + inline_reasoning)
    assert cut.done and cut.finish_reason == whole.finish_reason
    assert cut.malformed == 0


@given(st.text(max_size=50), st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_completion_assembler_ignores_where_deltas_are_cut(text: str, cuts: list[int]) -> None:
    assembler = StreamAssembler(completion=True)
    events: list[StreamEvent] = []
    for piece in split_at(text, cuts):
        events.extend(assembler.feed(json.dumps({"choices": [{"text": piece}]})))
    assert fold(events) == (text, "")


@given(st.text(max_size=30))
def test_stream_assembler_never_raises_on_non_error_lines(line: str) -> None:
    assembler = StreamAssembler()
    try:
        events = assembler.feed(line)
    except LmtuiError:
        # Only a line that decodes to an object holding an error may raise.
        decoded = json.loads(line)
        assert isinstance(decoded, dict) and "error" in decoded
        return
    assert isinstance(events, list)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
error_like = st.fixed_dictionaries(
    {},
    optional={
        "message": json_values | st.text(max_size=40),
        "code": json_values,
        "type": st.sampled_from(
            ["exceed_context_size_error", "unavailable_error", "not_supported_error", "x"]
        )
        | json_values,
        "n_prompt_tokens": json_values,
        "n_ctx": json_values,
    },
)
bodies = (
    json_values
    | st.builds(lambda e: {"error": e}, error_like | json_values)
    | st.text(max_size=60)
    | st.binary(max_size=60)
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
)
statuses = st.none() | st.integers(min_value=-1, max_value=1000)


@given(statuses, bodies, st.none() | st.text(max_size=10))
@example(500, b"[" * 100_000, None)  # nesting deep enough to break a recursive parser
@example(None, {"error": {"message": {"nested": True}}}, None)
@example(503, "", "m")
def test_classify_error_always_returns_a_typed_error(
    status: int | None, body: object, model: str | None
) -> None:
    error = classify_error(status, body, model=model, available=["a", "b"])
    assert isinstance(error, LmtuiError)
    assert error.message.strip()
    assert error.remedy.strip()
    assert json.dumps(error.to_json())  # always serialisable for --json
