"""The SSE splitter of both clients' streams (lmtui/backend/sse.py) against httpx-sse.

The async client splits aiohttp's reads with :class:`SSESplitter`, the sync client
the chunks of httpx's body; httpx-sse is the reference. For any byte stream, cut into
reads anywhere, the splitter must give the events one whole read gives, and the events
httpx-sse gives for the same bytes arriving in the same pieces.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
from httpx_sse import EventSource
from hypothesis import example, given
from hypothesis import strategies as st

from lmtui.backend.sse import SSE, SSESplitter, charset_of

# Lines rich in what the SSE grammar cares about, and text that is none of it.
LINES = [
    'data: {"a":1}',
    'data:{"a":1}',
    "data:  two spaces",
    "data:",
    "data",
    "event: error",
    "event:chat.start",
    "event",
    ": a comment",
    ":",
    "id: 7",
    "id: with\0nul",
    "retry: 1000",
    "retry: soon",
    "unknown: field",
    "",
    "data: é ü 日本",
    "data: [DONE]",
]
ENDINGS = ["\n", "\r\n", "\r"]
# Invalid UTF-8, and a multi-byte character a cut may split.
RAW = [b"\xff\xfe", b"\xe6\x97\xa5", b"\xe6", b"\x97\xa5", b"\r", b"\n"]

line = st.sampled_from(LINES) | st.text(max_size=8)
piece = st.tuples(line, st.sampled_from(ENDINGS)).map(lambda p: (p[0] + p[1]).encode())
streams = st.lists(piece | st.sampled_from(RAW), max_size=40).map(b"".join)
cuts = st.lists(st.integers(min_value=0, max_value=2000), max_size=12)


def reads(body: bytes, at: list[int]) -> list[bytes]:
    """``body`` cut at the given positions (any order, duplicates allowed), no empty read."""
    points = sorted({c % (len(body) + 1) for c in at} | {0, len(body)})
    return [body[a:b] for a, b in itertools.pairwise(points) if b > a]


def split(chunks: list[bytes], encoding: str = "utf-8") -> list[SSE]:
    splitter = SSESplitter(encoding)
    events: list[SSE] = []
    for chunk in chunks:
        events += splitter.feed(chunk)
    return events + splitter.close()


def httpx_sse(chunks: list[bytes], content_type: str = "text/event-stream") -> list[SSE]:
    """What httpx-sse reads from an httpx response whose body comes in ``chunks``."""

    def body() -> Iterator[bytes]:
        yield from chunks

    resp = httpx.Response(200, headers={"content-type": content_type}, content=body())
    return [(sse.event, sse.data) for sse in EventSource(resp).iter_sse()]


@given(streams, cuts)
@example(b"data: x\r", [7])
@example(b"data: x\r\n\r\n", [8])
@example(b"data: \xe6\x97\xa5\n\n", [7, 8])
@example(b"id: 1\n\n\n", [])
@example(b"data: a\ndata: b\n\nevent: end\n\n", [3])
def test_any_cut_into_reads_gives_the_events_of_one_read_and_of_httpx_sse(
    body: bytes, at: list[int]
) -> None:
    chunks = reads(body, at)
    got = split(chunks)
    assert got == split([body])
    assert got == httpx_sse(chunks)


@given(streams, cuts)
def test_a_charset_the_answer_names_decodes_as_httpx_does(body: bytes, at: list[int]) -> None:
    ctype = "text/event-stream; charset=latin-1"
    chunks = reads(body, at)
    assert split(chunks, charset_of(ctype)) == httpx_sse(chunks, ctype)


def test_a_fast_streams_events_come_whole_from_one_read() -> None:
    body = b"".join(b'data: {"i":%d}\n\n' % i for i in range(100)) + b"data: [DONE]\n\n"
    splitter = SSESplitter()
    events = splitter.feed(body)
    assert len(events) == 101
    assert events[0] == ("message", '{"i":0}')
    assert events[-1] == ("message", "[DONE]")


def test_a_long_line_read_in_many_pieces_is_one_event() -> None:
    data = "x" * 100_000
    body = f"data: {data}\n\n".encode()
    assert split([body[i : i + 7] for i in range(0, len(body), 7)]) == [("message", data)]


def test_charset_of() -> None:
    assert charset_of("text/event-stream") == "utf-8"
    assert charset_of("text/event-stream; charset=ISO-8859-1") == "iso8859-1"
    assert charset_of('text/event-stream; charset="utf-8"') == "utf-8"
    assert charset_of("text/event-stream; charset=no-such-codec") == "utf-8"
