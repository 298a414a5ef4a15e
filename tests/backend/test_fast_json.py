"""The stream's JSON decoder answers as ``json.loads`` does (backend/fast_json.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lmtui.backend.fast_json import stream_loads

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # past 64 bits orjson reads a float (fast_json.py)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_what_json_writes_decodes_as_json_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert stream_loads()(text) == json.loads(text)


def _huge(value: object) -> bool:
    """Whether ``value`` holds an integer past 64 bits (read as a float: see fast_json)."""
    if isinstance(value, list):
        return any(_huge(v) for v in value)
    if isinstance(value, dict):
        return any(_huge(v) for v in value.values())
    return isinstance(value, int) and not -(2**63) <= value < 2**64


def _answers_as_json(text: str) -> bool:
    """``stream_loads()`` decodes ``text`` as ``json.loads`` does, or fails as it does.

    Returns False, checking nothing, for a value with an integer past 64 bits.
    """
    try:
        expected: object = json.loads(text)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)):
            stream_loads()(text)
        return True
    if _huge(expected):
        return False
    assert repr(stream_loads()(text)) == repr(expected)  # repr: NaN is not equal to itself
    return True


@given(st.text(max_size=40))
def test_any_text_decodes_or_fails_as_json_does(text: str) -> None:
    assume(_answers_as_json(text))


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": "\\ud800"}', "[" * 3000])
def test_what_orjson_refuses_gets_json_s_answer(text: str) -> None:
    assert _answers_as_json(text)


def test_an_integer_past_64_bits_reads_as_a_float_and_counts_as_no_count() -> None:
    """The one documented difference: such a token count is nonsense; it reads as none."""
    from lmtui.backend.assembly import StreamAssembler

    huge = 123456789012345678901234567890
    assert stream_loads()(f'{{"n": {huge}}}') == {"n": float(huge)}
    usage = {"prompt_tokens": 1, "completion_tokens": huge}
    assembler = StreamAssembler(loads=stream_loads())  # the async client's
    assembler.feed(json.dumps({"choices": [], "usage": usage}))
    assert assembler.usage is not None
    assert (assembler.usage.prompt_tokens, assembler.usage.completion_tokens) == (1, 0)
