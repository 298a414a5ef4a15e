"""A poisoned history import: one line naming the problem, nothing imported, and every
later ``history list`` and ``export`` still works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunLmtui

GOOD = json.dumps({"title": "fine", "messages": [{"role": "user", "content": "hello"}]})


def conv(**extra: object) -> dict[str, object]:
    return {"title": "t", "messages": [{"role": "user", "content": "hi"}], **extra}


POISONS: dict[str, tuple[str, str]] = {
    "created 1e300": (json.dumps(conv(created=1e300)), '"created" must be a Unix time'),
    "created NaN": (json.dumps(conv(created=float("nan"))), '"created" must be a Unix time'),
    "updated -Infinity": (
        json.dumps(conv(updated=float("-inf"))),
        '"updated" must be a Unix time',
    ),
    "created 5000 digits": (
        '{"title": "t", "created": ' + "9" * 5000 + ', "messages": []}',
        "line 2",
    ),
    "created 4000 digits": (
        '{"title": "t", "created": ' + "9" * 4000 + ', "messages": []}',
        '"created" must be a Unix time',
    ),
    "lone surrogate in content": (
        '{"messages": [{"role": "user", "content": "a\\ud800b"}]}',
        '"content" is not valid Unicode',
    ),
    "lone surrogate in title": (
        '{"title": "\\udfff", "messages": []}',
        '"title" is not valid Unicode',
    ),
    "lone surrogate in a params key": (
        '{"messages": [{"role": "user", "content": "x", "params": {"\\ud800": 1}}]}',
        '"params" is not valid Unicode',
    ),
    "100,000-deep nesting": ("[" * 100_000 + "]" * 100_000, "line 2: nested too deeply"),
    "deep params": (
        json.dumps(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": "x",
                        "params": json.loads('{"a":' * 40 + "1" + "}" * 40),
                    }
                ]
            }
        ),
        "nested more than",
    ),
    "NaN in usage": (
        '{"messages": [{"role": "assistant", "content": "x", "usage": {"n": NaN}}]}',
        '"usage" holds nan',
    ),
}


@pytest.mark.parametrize("name", list(POISONS))
def test_a_poisoned_import_is_one_line_and_history_still_works(
    name: str, tmp_path: Path, run_lmtui: RunLmtui
) -> None:
    line, expected = POISONS[name]
    src = tmp_path / "poison.jsonl"
    src.write_text(GOOD + "\n" + line + "\n", encoding="utf-8")
    done = run_lmtui("history", "import", str(src))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    messages = [ln for ln in done.stderr.splitlines() if ln.startswith("lmtui:")]
    assert len(messages) == 1, done.stderr
    assert "line 2" in messages[0] and expected in messages[0], messages[0]
    assert "nothing was imported" in done.stderr
    for args in (
        ("history", "list"),
        ("history", "export"),
        ("history", "export", "--format", "json"),
    ):
        after = run_lmtui(*args)
        assert after.returncode == 0, (args, after.stderr)
        assert "Traceback" not in after.stderr
    assert "No saved conversations yet." in run_lmtui("history", "list").stdout
