"""Server-sent events from a body read in pieces of any size.

:class:`SSESplitter` turns the bytes of a ``text/event-stream`` body, fed as they
arrive, into ``(event, data)`` pairs. It reads the stream as httpx-sse does (the
sync client still reads through it, and tests/backend/test_sse.py holds the two
side by side): the bytes decoded as httpx decodes text (the charset the answer
names, else UTF-8, an invalid byte becoming U+FFFD); lines ended by ``\\r\\n``,
``\\n`` or ``\\r``; ``data:`` with one optional space removed, several data lines
joined with ``\\n``; ``event:`` ("message" when there is none); comments (``:``)
skipped; ``id`` and ``retry`` read only as far as they make a blank line dispatch
an event; an event dispatched on a blank line.

It is fed whole reads (all the bytes the connection holds at once), not one line
at a time: a fast stream's many small events cost one call per read.
"""

from __future__ import annotations

import codecs
import contextlib

#: One event: its ``event`` field ("message" when the server named none, as the SSE
#: standard and httpx-sse say) and its data.
SSE = tuple[str, str]


def charset_of(content_type: str) -> str:
    """The text encoding a ``Content-Type`` names when Python knows it, else UTF-8."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


class SSESplitter:
    """Events from the bytes of one event stream, fed as they are read."""

    __slots__ = ("_cr", "_data", "_decoder", "_event", "_last_id", "_partial", "_retry")

    def __init__(self, encoding: str = "utf-8") -> None:
        """Args: encoding: the body's text encoding (:func:`charset_of`)."""
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._cr = False  # the text so far ended in "\r": it may be half of a "\r\n"
        self._partial: list[str] = []  # the start of a line not yet ended
        self._event = ""
        self._data: list[str] = []
        self._last_id = ""  # kept across events, as the SSE standard says
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSE]:
        """The events that ``chunk`` completes, in order (often none, often several)."""
        return self._text(self._decoder.decode(chunk))

    def close(self) -> list[SSE]:
        """The events the end of the body completes: what a last ``\\r`` dispatches."""
        events = self._text(self._decoder.decode(b"", True))
        if self._partial or self._cr:
            line = "".join(self._partial)
            self._partial = []
            self._cr = False
            events += self._lines([line])
        return events

    def _text(self, text: str) -> list[SSE]:
        if self._cr:
            text = "\r" + text
            self._cr = False
        if text.endswith("\r"):
            self._cr = True
            text = text[:-1]
        if not text:
            return []
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._partial.append(text)  # a list: a long line read in many pieces stays linear
            return []
        lines = text.split("\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        last = lines.pop()  # "" when the text ended a line
        if last:
            self._partial.append(last)
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[SSE]:
        events: list[SSE] = []
        for line in lines:
            if not line:
                if self._data or self._event or self._last_id or self._retry is not None:
                    events.append((self._event or "message", "\n".join(self._data)))
                    self._event = ""
                    self._data = []
                    self._retry = None
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._last_id = value
            elif name == "retry":
                with contextlib.suppress(ValueError):
                    self._retry = int(value)
            # Comments (an empty field name) and unknown fields are ignored.
        return events
