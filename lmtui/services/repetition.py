"""Spotting a reply that repeats itself: the same span recurring back to back at its end.

Small local models fall into loops ("I am excited to... I am excited to..."). The
check looks only at the end of the text streamed so far: when its last ``min_length``
characters or more are one span (the *unit*) repeated again and again, the reply is
looping. The tail is read backwards through a prefix function, so one check costs
time linear in ``window``; the streaming detector checks every ``check_every`` new
characters, so a long reply costs little more than copying it.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_LENGTH = 200  # characters of looping text before a reply is called repeating
MIN_REPEATS_LONG = 3  # a unit of LONG_UNIT characters or more seen this many times
MIN_REPEATS_SHORT = 6  # shorter units (a word, a short line) need more repeats
LONG_UNIT = 40
WINDOW = 4096  # only this much of the end of the reply is examined
CHECK_EVERY = 64  # new characters between two checks while streaming
PROBE_CHARS = 64  # the end of the text looked for earlier in it, before the full check


@dataclass(frozen=True, slots=True)
class Repetition:
    """A span found repeated back to back at the end of a reply."""

    unit: str  # one repetition, as it reads in the reply
    count: int  # whole repetitions at the end of the reply
    length: int  # characters of the reply covered by the loop


def _prefix_function(text: str) -> list[int]:
    """``pi[i]``: the longest proper prefix of ``text[:i+1]`` that is also its suffix."""
    pi = [0] * len(text)
    for i in range(1, len(text)):
        k = pi[i - 1]
        while k and text[i] != text[k]:
            k = pi[k - 1]
        if text[i] == text[k]:
            k += 1
        pi[i] = k
    return pi


def _could_loop(tail: str, min_length: int) -> bool:
    """False when ``tail`` cannot end in a loop :func:`find_repetition` would report.

    A loop of period p covering L >= ``min_length`` characters (p <= L/3) ends with
    L - p >= 2/3 ``min_length`` characters seen p earlier. So each earlier occurrence
    of the last few characters gives a candidate period p, and the loop needs the last
    max(``min_length``, repeats × p) characters to have period p. Both tests are
    substring operations in C; a tail passing one goes to the exact (Python) scan.
    """
    size = len(tail)
    probe = tail[-min(PROBE_CHARS, 2 * min_length // 3) :]
    end = size - 1
    while (found := tail.rfind(probe, 0, end)) >= 0:
        period = size - len(probe) - found
        needed = MIN_REPEATS_LONG if period >= LONG_UNIT else MIN_REPEATS_SHORT
        span = max(min_length, needed * period)
        if span <= size and tail[size - span + period :] == tail[size - span : size - period]:
            return True
        end = found + len(probe) - 1
    return False


def _meaningful(looping: str) -> bool:
    """A loop worth flagging holds words, not only spaces, punctuation or rules."""
    return sum(ch.isalnum() for ch in looping) >= 3


def find_repetition(
    text: str, *, min_length: int = MIN_LENGTH, window: int = WINDOW
) -> Repetition | None:
    """The loop at the end of ``text``, or None when it does not end in one.

    Args:
        text: the reply so far.
        min_length: fewest characters the repeated part must cover.
        window: how much of the end of ``text`` to examine.

    Returns:
        The shortest unit that, repeated, makes up the longest looping tail that
        meets the thresholds; None when there is none.
    """
    tail = text[-window:]
    if len(tail) < min_length:
        return None
    if not _could_loop(tail, min_length):
        return None  # the scan below costs ~1 ms per check in Python; the probe, microseconds
    backwards = tail[::-1]
    pi = _prefix_function(backwards)
    best: Repetition | None = None
    meaningful: dict[int, bool] = {}  # by period: a long looping tail has the same one at many ends
    for end in range(min_length, len(backwards) + 1):
        period = end - pi[end - 1]
        count = end // period
        needed = MIN_REPEATS_LONG if period >= LONG_UNIT else MIN_REPEATS_SHORT
        if count < needed:
            continue
        worth = meaningful.get(period)
        if worth is None:
            worth = meaningful[period] = _meaningful(backwards[: period * needed])
        if worth:
            best = Repetition(unit=backwards[:period][::-1], count=count, length=end)
    return best


class RepetitionDetector:
    """Feed it a streaming reply's text; it says once when the reply starts looping."""

    def __init__(
        self,
        *,
        min_length: int = MIN_LENGTH,
        window: int = WINDOW,
        check_every: int = CHECK_EVERY,
    ) -> None:
        """Thresholds as for :func:`find_repetition`; ``check_every`` new characters per check."""
        self._parts: list[str] = []
        self._size = 0
        self._unchecked = 0
        self._min_length = min_length
        self._window = window
        self._check_every = check_every
        self.found: Repetition | None = None

    def feed(self, delta: str) -> Repetition | None:
        """Add ``delta``; return the repetition the first time one is seen, else None."""
        if self.found is not None or not delta:
            return None
        self._parts.append(delta)
        self._size += len(delta)
        self._unchecked += len(delta)
        if self._unchecked < self._check_every or self._size < self._min_length:
            return None
        self._unchecked = 0
        text = "".join(self._parts)
        if len(text) > 2 * self._window:
            text = text[-self._window :]
        self._parts = [text]
        self._size = len(text)
        self.found = find_repetition(text, min_length=self._min_length, window=self._window)
        return self.found
