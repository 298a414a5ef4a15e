"""Streamed tool calls put back together, however the server cuts them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lmtui.backend.tool_calls import (
    AssembledCall,
    AssistantToolCallsMessage,
    ToolCallAssembler,
    ToolChatRequest,
    ToolResultMessage,
)
from lmtui.backend.types import Message

NAMES = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ARGUMENTS = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5).map(
    lambda d: json.dumps(d, ensure_ascii=False)
)


def _cuts(draw: Any, text: str) -> list[str]:
    """``text`` cut at random places (empty pieces allowed, as servers send them)."""
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    pieces, start = [], 0
    for p in points:
        pieces.append(text[start:p])
        start = p
    pieces.append(text[start:])
    return pieces


@st.composite
def streamed_calls(draw: Any) -> tuple[list[tuple[str, str, str]], list[list[dict[str, Any]]]]:
    """Some calls, and the ``delta.tool_calls`` values a server could stream them as."""
    calls = [
        (f"call_{draw(st.integers(0, 10**6))}_{i}", draw(NAMES), draw(ARGUMENTS))
        for i in range(draw(st.integers(1, 4)))
    ]
    deltas: list[list[dict[str, Any]]] = []
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": name}}
        if draw(st.booleans()):
            head["function"]["arguments"] = ""
        deltas.append([head])
        for piece in _cuts(draw, arguments):
            deltas.append([{"index": index, "function": {"arguments": piece}}])
    # Servers may also pack fragments of several calls into one delta.
    if draw(st.booleans()) and len(deltas) > 2:
        merged = [deltas[0]]
        for d in deltas[1:]:
            if draw(st.booleans()):
                merged[-1] = merged[-1] + d
            else:
                merged.append(d)
        deltas = merged
    return calls, deltas


@given(streamed_calls())
def test_calls_are_assembled_from_any_split(case: Any) -> None:
    calls, deltas = case
    assembler = ToolCallAssembler()
    for delta in deltas:
        assembler.feed(delta)
    got = assembler.calls()
    assert [(c.id, c.name, c.arguments) for c in got] == calls
    for call in got:
        value, problem = call.parsed_arguments()
        assert problem == "" and value == json.loads(call.arguments)


def test_several_calls_interleaved() -> None:
    a = ToolCallAssembler()
    a.feed([{"index": 0, "id": "a", "function": {"name": "weather", "arguments": '{"ci'}}])
    a.feed([{"index": 1, "id": "b", "function": {"name": "time", "arguments": "{}"}}])
    a.feed([{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}])
    assert a.calls() == [
        AssembledCall(0, "a", "weather", '{"city": "Oslo"}'),
        AssembledCall(1, "b", "time", "{}"),
    ]


def test_fragments_without_index_follow_the_id_or_the_last_call() -> None:
    a = ToolCallAssembler()
    a.feed({"id": "x", "function": {"name": "f", "arguments": '{"a"'}})
    a.feed([{"function": {"arguments": ": 1}"}}])
    a.feed([{"id": "y", "function": {"name": "g", "arguments": {"b": 2}}}])
    assert [(c.id, c.name, c.arguments) for c in a.calls()] == [
        ("x", "f", '{"a": 1}'),
        ("y", "g", '{"b": 2}'),
    ]


def test_malformed_arguments_are_marked_not_raised() -> None:
    a = ToolCallAssembler()
    a.feed([{"index": 0, "function": {"name": "f", "arguments": '{"a": '}}])
    a.feed("junk")
    a.feed([None, 3])
    (call,) = a.calls()
    assert call.id == "call_0"
    value, problem = call.parsed_arguments()
    assert value is None and "not valid JSON" in problem
    assert AssembledCall(0, "c", "f", "[1]").parsed_arguments()[1].endswith("not an object (list)")


def test_continuation_messages_and_tools_on_the_wire() -> None:
    call = AssembledCall(0, "call_1", "weather", '{"city": "Oslo"}')
    request = ToolChatRequest(
        "m",
        (
            Message("user", "Weather?"),
            AssistantToolCallsMessage("assistant", "", tool_calls=(call,)),
            ToolResultMessage("tool", "12 °C", tool_call_id="call_1"),
        ),
        tools=({"type": "function", "function": {"name": "weather", "parameters": {}}},),
    )
    body = request.to_json(stream=True)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "12 °C"},
    ]
    assert body["tools"][0]["function"]["name"] == "weather"
    assert body["stream"] is True
