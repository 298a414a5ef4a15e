"""Parameter specs and validation (lmtui.backend.params)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmtui.backend.params import (
    PARAM_SPECS,
    ParamKind,
    format_param,
    param_spec,
    validate_param,
    validate_params,
)
from lmtui.backend.types import PARAMETER_NAMES, SamplingParams


def test_specs_cover_every_parameter_in_wire_order() -> None:
    assert tuple(s.name for s in PARAM_SPECS) == PARAMETER_NAMES
    assert all(s.help for s in PARAM_SPECS)


def test_defaults_are_the_ones_the_guide_documents() -> None:
    defaults = {s.name: s.default for s in PARAM_SPECS}
    assert defaults["temperature"] == 0.7
    assert defaults["top_p"] == 1.0
    assert defaults["top_k"] == 40
    assert defaults["repeat_penalty"] == 1.1
    assert defaults["presence_penalty"] == 0
    assert defaults["frequency_penalty"] == 0
    assert defaults["max_tokens"] is None
    assert param_spec("max_tokens").default_text == "model max"
    assert defaults["seed"] is None


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("temperature", 0, 0.0),
        ("temperature", 2, 2.0),
        ("temperature", "0.7", 0.7),
        ("temperature", " 1.5 ", 1.5),
        ("top_p", 1, 1.0),
        ("top_p", 0.0, 0.0),
        ("min_p", 0.05, 0.05),
        ("top_k", 0, 0),
        ("top_k", "40", 40),
        ("top_k", 40.0, 40),
        ("presence_penalty", -2, -2.0),
        ("frequency_penalty", 2, 2.0),
        ("repeat_penalty", 1.1, 1.1),
        ("repeat_penalty", 2, 2.0),
        ("max_tokens", -1, -1),
        ("max_tokens", 1, 1),
        ("max_tokens", "800", 800),
        ("seed", -5, -5),
        ("seed", "42", 42),
        ("ttl", 1, 1),
        ("stop", "###", "###"),
        ("stop", ["\n", "END"], ("\n", "END")),
        ("stop", ("a", "b", "c", "d"), ("a", "b", "c", "d")),
        ("response_format", {"type": "text"}, {"type": "text"}),
        ("response_format", "text", {"type": "text"}),
        ("temperature", None, None),
        ("temperature", "  ", None),
        ("max_tokens", "", None),
    ],
)
def test_valid_values(name: str, raw: object, expected: object) -> None:
    value = validate_param(name, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("temperature", -0.01, "0 to 2"),
        ("temperature", 2.01, "0 to 2"),
        ("temperature", "hot", "must be a number, not 'hot'"),
        ("temperature", True, "true/false"),
        ("temperature", math.nan, "finite"),
        ("temperature", "inf", "finite"),
        ("temperature", [0.5], "must be a number"),
        ("top_p", 1.5, "0 to 1"),
        ("min_p", -0.1, "0 to 1"),
        ("top_k", -1, "0 or more"),
        ("top_k", 2.5, "whole number"),
        ("top_k", "2.5", "whole number"),
        ("presence_penalty", -2.5, "-2 to 2"),
        ("frequency_penalty", 3, "-2 to 2"),
        ("repeat_penalty", 0, "above 0"),
        ("repeat_penalty", 2.5, "above 0, up to 2"),
        ("max_tokens", 0, "-1 (no limit) or at least 1"),
        ("max_tokens", -2, "-1 (no limit) or at least 1"),
        ("seed", 2**63, "seed must be"),
        ("seed", "abc", "whole number"),
        ("ttl", 0, "1 or more"),
        ("stop", "", "empty"),
        ("stop", [], "at least one"),
        ("stop", ["a", "b", "c", "d", "e"], "at most 4"),
        ("stop", ["a", 1], "only strings"),
        ("stop", 5, "string or a list"),
        ("response_format", {"type": "json_object"}, "rejected by LM Studio"),
        ("response_format", "json_object", "json_schema"),
        ("response_format", {"type": "xml"}, '"text" or "json_schema"'),
        ("response_format", {"type": "json_schema"}, "needs a json_schema table"),
        ("response_format", {"type": "json_schema", "json_schema": {}}, "'schema' table"),
        ("response_format", {"type": "text", "schema": {}}, "no other keys"),
        ("response_format", "{not json", "JSON object"),
        ("response_format", [1], "table/object"),
        ("colour", 1, "unknown parameter 'colour'"),
    ],
)
def test_invalid_values_say_why(name: str, raw: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_param(name, raw)
    assert fragment in str(info.value)


def test_json_schema_response_format_is_accepted_as_value_and_text() -> None:
    fmt: dict[str, Any] = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object"}},
    }
    assert validate_param("response_format", fmt) == fmt
    text = format_param("response_format", fmt)
    assert validate_param("response_format", text) == fmt


def test_validate_params_builds_sampling_params_and_drops_blanks() -> None:
    params = validate_params({"temperature": "0.2", "stop": ["x"], "seed": ""})
    assert params == SamplingParams(temperature=0.2, stop=("x",))
    with pytest.raises(ValueError, match="unknown parameter 'foo'"):
        validate_params({"foo": 1})


def test_range_text_reads_well() -> None:
    assert param_spec("temperature").range_text == "0 to 2"
    assert param_spec("repeat_penalty").range_text == "above 0, up to 2"
    assert param_spec("max_tokens").range_text.startswith("-1")
    assert param_spec("stop").kind is ParamKind.STOP


@given(st.floats(min_value=0.0, max_value=2.0))
def test_format_then_validate_gives_the_same_temperature(value: float) -> None:
    assert validate_param("temperature", format_param("temperature", value)) == value


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_format_then_validate_gives_the_same_seed(value: int) -> None:
    assert validate_param("seed", format_param("seed", value)) == value
