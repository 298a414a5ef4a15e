"""Model text must reach a terminal inert: no ESC, no C1, no bidi overrides."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lmtui.services.terminal_text import has_controls, make_inert


def test_escape_sequences_lose_their_escape_byte() -> None:
    evil = "\x1b]0;pwned\x07title \x1b[2J\x1b]52;c;ZXZpbA==\x07 done"
    out = make_inert(evil)
    assert "\x1b" not in out and "\x07" not in out
    assert "pwned" in out and "done" in out  # the text itself is kept, visibly


def test_newlines_and_tabs_survive() -> None:
    assert make_inert("a\tb\nc") == "a\tb\nc"


def test_c1_and_bidi_controls_become_visible() -> None:
    out = make_inert("x\x9b31m y\u202eevil\u2066z")
    assert "\x9b" not in out and "\u202e" not in out and "\u2066" not in out
    assert "<U+202E>" in out


@given(st.text())
def test_output_never_holds_a_control_character(text: str) -> None:
    out = make_inert(text)
    assert not has_controls(out)
    assert all(ch in "\t\n" or ord(ch) >= 0x20 for ch in out if ord(ch) < 0xA0 and ord(ch) != 0x7F)


@given(st.lists(st.text(), max_size=8))
def test_splitting_does_not_matter(parts: list[str]) -> None:
    assert "".join(make_inert(p) for p in parts) == make_inert("".join(parts))
