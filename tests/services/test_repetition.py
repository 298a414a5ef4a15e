"""The repetition detector: loops are found, ordinary prose and code are not."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.services.repetition import (
    MIN_LENGTH,
    RepetitionDetector,
    find_repetition,
)

PROSE = (
    "Thank you for joining us on this special day. The ceremony begins at four in the "
    "garden, followed by dinner and dancing under the stars. Please let us know by May "
    "first whether you can come, and tell us about any dietary needs. We cannot wait to "
    "celebrate with the people we love most. Parking is available behind the chapel."
)
CODE = (
    "def area(width: float, height: float) -> float:\n"
    "    return width * height\n\n\n"
    "def perimeter(width: float, height: float) -> float:\n"
    "    return 2 * (width + height)\n\n\n"
    "if __name__ == '__main__':\n"
    "    print(area(3, 4), perimeter(3, 4))\n"
)

words = st.text(alphabet="abcdefghij ,.", min_size=5, max_size=80).filter(
    lambda unit: sum(ch.isalnum() for ch in unit) >= 3
)


@given(prefix=st.text(max_size=200), unit=words, data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_loop_at_the_end_is_found(prefix: str, unit: str, data: st.DataObject) -> None:
    repeats = max(7, MIN_LENGTH // len(unit) + 2)
    cut = data.draw(st.integers(0, len(unit) - 1))  # the stream may stop mid-unit
    text = prefix + unit * repeats + unit[:cut]
    found = find_repetition(text)
    assert found is not None
    assert found.length >= MIN_LENGTH
    # the unit found is a rotation of a unit that, repeated, builds the looping text
    assert found.unit * 2 in (unit * (repeats + 2)) or (unit * 2) in found.unit * (repeats + 2)


@given(st.lists(st.sampled_from(PROSE.split(". ")), min_size=1, max_size=8, unique=True))
def test_sentences_each_said_once_are_not_a_loop(sentences: list[str]) -> None:
    assert find_repetition(". ".join(sentences) * 1) is None


def test_prose_code_and_tables_are_not_loops() -> None:
    assert find_repetition(PROSE) is None
    assert find_repetition(CODE * 2) is None  # said twice is not a loop
    table = "| a | b |\n|---|---|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(40))
    assert find_repetition(table) is None
    assert find_repetition("-" * 500) is None  # a rule, not words
    assert find_repetition("\n" * 500 + " " * 500) is None


def test_a_real_looping_reply_is_flagged() -> None:
    loop = "I am so excited to celebrate with you all at the wedding. "
    assert find_repetition(PROSE + loop * 4) is not None
    assert find_repetition(PROSE + loop * 2) is None


@given(st.lists(st.integers(1, 50), min_size=1, max_size=60))
def test_the_streaming_detector_agrees_with_the_whole_text(cuts: list[int]) -> None:
    text = PROSE + "We will dance all night long, my friends! " * 12
    detector = RepetitionDetector()
    found = None
    position = 0
    for size in [*cuts, len(text)]:
        piece = text[position : position + size]
        position += len(piece)
        found = detector.feed(piece) or found
    assert found is not None
    assert detector.found == found
    assert detector.feed("more") is None  # said once, not again


def test_the_streaming_detector_stays_quiet_on_prose() -> None:
    detector = RepetitionDetector(check_every=1)
    for ch in PROSE + CODE:
        assert detector.feed(ch) is None


def test_text_that_cannot_be_looping_costs_no_full_check(monkeypatch: Any) -> None:
    # The full check is linear in its 4 kB window and runs every 64 characters: for a
    # 5 MB reply that was ~35 s of the event loop. Text whose end does not recur in the
    # window cannot be a loop, and a substring search (in C) says so first.
    import random

    from lmtui.services import repetition

    calls: list[int] = []
    real = repetition._prefix_function

    def counted(text: str) -> list[int]:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(repetition, "_prefix_function", counted)
    rng = random.Random(19)
    vocabulary = ["".join(rng.choice("abcdefghijklmnop") for _ in range(7)) for _ in range(3000)]
    text = " ".join(rng.choice(vocabulary) for _ in range(8000))  # ~64 kB, no loop
    detector = RepetitionDetector()
    for i in range(0, len(text), 4):
        assert detector.feed(text[i : i + 4]) is None
    assert calls == []
    # A loop is still found, once it is one.
    for _ in range(12):
        found = detector.feed("and then it said the same thing again, ")
    assert found is not None or detector.found is not None
    assert calls
