"""A read's payloads fed at once (``ChatStreamCall.feed_read``) mean what they meant one by one.

The async client hands each read of the connection to ``feed_read``, which decodes the
payloads in one pass and joins plain answer pieces as it goes
(``StreamAssembler.feed_many``). These tests hold it to the one-payload-at-a-time path
(``StreamCall.feed_read``: ``feed`` on each event, then ``merge_deltas``) for any mix of
chunk shapes a server sends, cut into reads anywhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.stream_call import ChatStreamCall, StreamCall
from lmtui.backend.types import ContentDelta, ModelUsed, StreamEvent

# Answer text that crosses every branch of the think-tag splitter.
TEXT = st.text(alphabet="ab <>/thinkTHINK\n", max_size=12) | st.sampled_from(
    ["<think>", "</think>", "<thi", "nk>", "</", "abcd", ""]
)


def _delta() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"content": TEXT | TEXT | TEXT | st.none() | st.integers()},
        optional={
            "reasoning_content": TEXT | st.none(),
            "reasoning": TEXT,
            "tool_calls": st.sampled_from([None, [], [{"index": 0, "id": "t"}]]),
            "role": st.just("assistant"),
        },
    )


def _chunk() -> st.SearchStrategy[dict[str, Any]]:
    """Most often a plain answer piece; any field may be odd or hold something more."""
    choice = st.fixed_dictionaries(
        {"index": st.just(0), "delta": _delta() | _delta() | _delta() | st.none() | st.just("x")},
        optional={"finish_reason": st.sampled_from([None, "stop", "length", ""])},
    )
    one = st.lists(choice, min_size=1, max_size=2)
    return st.fixed_dictionaries(
        {
            "model": st.sampled_from(["m", "m", "m", "m", "n", "", None, 3]),
            "choices": one | one | one | st.just([]) | st.none() | st.just({}),
        },
        optional={
            "usage": st.sampled_from(
                [None, {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}]
            ),
            "timings": st.sampled_from([None, {"predicted_n": 2, "predicted_ms": 10.0}]),
            "error": st.sampled_from([None, {"message": "boom"}, "plain"]),
        },
    )


# One field of a plain answer piece made to hold something more (or something odd).
CHANGES: list[tuple[tuple[str, ...], object]] = [
    (("choices", 0, "finish_reason"), "stop"),
    (("choices", 0, "finish_reason"), None),
    (("choices", 0, "delta", "reasoning_content"), "r"),
    (("choices", 0, "delta", "reasoning"), "r"),
    (("choices", 0, "delta", "reasoning_content"), ""),
    (("choices", 0, "delta", "tool_calls"), [{"index": 0, "id": "t"}]),
    (("choices", 0, "delta", "content"), None),
    (("choices", 0, "delta", "content"), 7),
    (("choices", 0, "delta", "content"), "a<b"),
    (("choices", 0, "delta", "content"), "x<thi"),
    (("choices", 0, "delta", "content"), "<think>r"),
    (("choices", 0, "delta", "content"), "r</think>a"),
    (("choices", 0, "delta"), "x"),
    (("choices",), []),
    (("model",), "n"),
    (("model",), ""),
    (("usage",), {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    (("usage",), None),
    (("timings",), {"prompt_n": 3, "predicted_n": 2, "predicted_ms": 10.0}),
    (("error",), {"message": "boom"}),
    (("error",), None),
]


def _changed(text: str, change: tuple[tuple[str, ...], object] | None) -> str:
    chunk: dict[str, Any] = {"model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}
    if change is not None:
        path, value = change
        at: Any = chunk
        for key in path[:-1]:
            at = at[key]
        at[path[-1]] = value
    return json.dumps(chunk)


PIECE = st.builds(
    _changed,
    st.text(alphabet="abc d\n", max_size=6),
    st.none() | st.none() | st.sampled_from(CHANGES),
).map(lambda data: ("", data))

PAYLOAD = st.one_of(
    PIECE,
    PIECE,
    PIECE,
    _chunk().map(lambda c: ("", json.dumps(c))),
    _chunk().map(lambda c: ("message", json.dumps(c, indent=1))),
    st.sampled_from(
        [
            ("", "[DONE]"),
            ("", " [DONE] "),
            ("", "{not json"),
            ("", "[1, 2]"),
            ("", '{"a": NaN}'),
            ("", ""),
            ("error", '{"error": {"message": "overloaded"}}'),
            ("error", "plain words"),
        ]
    ),
)


def _call(client: LMStudioClient) -> ChatStreamCall:
    body = {"model": "m", "stream": True, "messages": []}
    return ChatStreamCall(client, "/v1/chat/completions", body, "m", completion=False)


def _state(call: ChatStreamCall) -> tuple[object, ...]:
    a = call.assembler
    tail = a.flush()
    return (call.done, call.deltas, a.model, a.finish_reason, a.malformed, a.chunks, a.usage, tail)


def _run(call: ChatStreamCall, reads: list[list[tuple[str, str]]], one_by_one: bool) -> object:
    out: list[object] = []
    for read in reads:
        if one_by_one:
            events, error = StreamCall.feed_read(call, read)
        else:
            events, error = call.feed_read(read)
        out.append(events)
        if error is not None:
            out.append((type(error), str(error)))
            break
        if call.done:
            break
    return out


@settings(max_examples=300)
@given(st.lists(st.lists(PAYLOAD, max_size=8), max_size=5))
def test_a_read_fed_at_once_gives_what_its_events_gave_one_by_one(
    reads: list[list[tuple[str, str]]],
) -> None:
    client = LMStudioClient("http://127.0.0.1:9")
    at_once, one_by_one = _call(client), _call(client)
    assert _run(at_once, reads, False) == _run(one_by_one, reads, True)
    assert _state(at_once) == _state(one_by_one)


def _plain(text: str, model: str = "m") -> tuple[str, str]:
    chunk = {"model": model, "choices": [{"index": 0, "delta": {"content": text}}]}
    return "", json.dumps(chunk)


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("opening", ["a", "<think>", ""])
def test_each_change_to_a_plain_piece_means_what_it_meant_alone(
    change: tuple[tuple[str, ...], object], opening: str
) -> None:
    # The opening chunk names the model; then plain pieces around the changed one.
    payloads = [_plain(opening), _plain("b"), ("", _changed("c", change)), _plain("d")]
    client = LMStudioClient("http://127.0.0.1:9")
    for cut in range(len(payloads) + 1):
        reads = [payloads[:cut], payloads[cut:]]
        at_once, one_by_one = _call(client), _call(client)
        assert _run(at_once, reads, False) == _run(one_by_one, reads, True)
        assert _state(at_once) == _state(one_by_one)


def test_a_burst_of_plain_pieces_is_one_delta_counting_them() -> None:
    call = _call(LMStudioClient("http://127.0.0.1:9"))
    events, error = call.feed_read([_plain(c) for c in "abcdef"])
    assert error is None
    assert events == [ModelUsed("m"), ContentDelta("abcdef", 6)]
    assert call.deltas == 6 and call.assembler.chunks == 6


def test_an_error_event_mid_read_comes_after_the_text_before_it() -> None:
    call = _call(LMStudioClient("http://127.0.0.1:9"))
    read = [_plain("ab"), _plain("cd"), ("error", '{"error": {"message": "overloaded"}}')]
    events: list[StreamEvent]
    events, error = call.feed_read(read)
    assert events == [ModelUsed("m"), ContentDelta("abcd", 2)]
    assert isinstance(error, LmtuiError) and "overloaded" in str(error)


@pytest.mark.parametrize("tail", ["[DONE]", '{"error": {"message": "gone"}}'])
def test_nothing_after_done_or_an_error_in_the_data_is_read(tail: str) -> None:
    call = _call(LMStudioClient("http://127.0.0.1:9"))
    events, error = call.feed_read([_plain("ab"), ("", tail), _plain("zz")])
    assert events == [ModelUsed("m"), ContentDelta("ab")]
    assert (error is None) == (tail == "[DONE]")
    assert call.assembler.chunks == (1 if tail == "[DONE]" else 2)
