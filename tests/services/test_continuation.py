"""The seam where a continued reply meets its first part."""

from __future__ import annotations

import pytest

from lmtui.backend.errors import LmtuiError, NotSupported
from lmtui.services.continuation import join_continuation, prefill_refused


@pytest.mark.parametrize(
    ("before", "first", "restarted", "joined"),
    [
        ("a wedd", "ing day", False, "a wedding day"),  # mid-word: the model's tokens go on
        ("a wedding", " I am", False, "a wedding I am"),
        ("a wedding ", " I am", False, "a wedding I am"),  # no doubled space
        ("a wedding", "I am", True, "a wedding I am"),  # a restart gets its space
        ("a wedding.\n", "I am", True, "a wedding.\nI am"),
        ("a wedding ", "  I am", True, "a wedding I am"),
        ("", "Hello", True, "Hello"),
    ],
)
def test_join(before: str, first: str, restarted: bool, joined: str) -> None:
    assert before + join_continuation(before, first, restarted=restarted) == joined


def test_only_a_rejected_request_falls_back() -> None:
    assert prefill_refused(LmtuiError("bad", status=400))
    assert prefill_refused(LmtuiError("bad", status=422))
    assert prefill_refused(NotSupported("no"))
    assert not prefill_refused(LmtuiError("gone", status=500))
    assert not prefill_refused(LmtuiError("cut"))
