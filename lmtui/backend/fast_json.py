"""JSON decoding for the stream's events: orjson first, the standard library's answer kept.

A fast local server sends thousands of small JSON chunks a second; ``json.loads`` takes
~1.9 µs for a delta chunk, orjson ~0.5 µs (benchmarks/README.md, "TUI ÷ wire", session
6). orjson refuses a few things the standard library accepts (``NaN``, an escaped lone
surrogate): those texts go to ``json.loads``. The one difference left: orjson reads an
integer past 64 bits as a float, so a token count that large counts as none (no real
stream holds one; checking every text for long numbers cost more than orjson saves).
orjson is imported on the first stream, not at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache


@cache
def stream_loads() -> Callable[[str], object]:
    """A ``json.loads`` for stream events that tries orjson first.

    Returns:
        A function of one JSON text giving what ``json.loads`` gives (but for integers
        past 64 bits, see above); it raises what ``json.loads`` raises (``ValueError``,
        ``RecursionError``) for text neither takes.
    """
    import orjson

    fast = orjson.loads
    refused = orjson.JSONDecodeError

    def loads(text: str) -> object:
        try:
            return fast(text)
        except refused:
            return json.loads(text)

    return loads
