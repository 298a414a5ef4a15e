"""Turning streamed chunks into typed events.

Pure code with no I/O, so the rules for every chunk shape a server sends live in
one place and property tests can hammer them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from lmtui.backend.errors import classify_error, extract_error
from lmtui.backend.types import (
    ContentDelta,
    ContentWasReasoning,
    FinishReason,
    ModelUsed,
    ReasoningDelta,
    ServerTimings,
    StreamEvent,
    TimingsReport,
    ToolCallFragments,
    Usage,
    UsageReport,
)

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


Split = ContentDelta | ReasoningDelta | ContentWasReasoning


class ThinkSplitter:
    """Splits inline ``<think>…</think>`` reasoning out of content deltas.

    Tags may be cut anywhere between deltas, so a trailing fragment that could be
    the start of a tag is held back until the next delta decides it. Some chat
    templates open ``<think>`` themselves, so only ``</think>`` arrives: a close tag
    before any tag means everything before it was reasoning, and the answer sent so
    far is taken back with :class:`ContentWasReasoning`.
    """

    __slots__ = ("_in_think", "_pending", "_seen_tag", "_sent_content")

    def __init__(self) -> None:
        self._in_think = False
        self._pending = ""
        self._seen_tag = False
        self._sent_content = False

    def feed(self, text: str) -> list[Split]:
        """Split one content delta into answer and reasoning pieces."""
        # Fast path: the overwhelmingly common delta holds no '<' at all.
        if not self._pending and "<" not in text:
            if not text:
                return []
            if self._in_think:
                return [ReasoningDelta(text)]
            self._sent_content = True
            return [ContentDelta(text)]
        buf = self._pending + text
        self._pending = ""
        out: list[Split] = []
        while buf:
            tag = CLOSE_TAG if self._in_think else OPEN_TAG
            idx = buf.find(tag)
            if not self._seen_tag:
                close = buf.find(CLOSE_TAG)
                if close >= 0 and (idx < 0 or close < idx):
                    # A close tag first: the template opened <think> in the prompt.
                    self._seen_tag = True
                    if self._sent_content:
                        out.append(ContentWasReasoning())
                        self._sent_content = False
                    if buf[:close]:
                        out.append(ReasoningDelta(buf[:close]))
                    buf = buf[close + len(CLOSE_TAG) :]
                    continue
            if idx >= 0:
                self._seen_tag = True
                self._emit(out, buf[:idx])
                buf = buf[idx + len(tag) :]
                self._in_think = not self._in_think
                continue
            keep = _partial_suffix(buf, tag)
            if not self._seen_tag:
                keep = max(keep, _partial_suffix(buf, CLOSE_TAG))
            self._emit(out, buf[: len(buf) - keep])
            self._pending = buf[len(buf) - keep :]
            break
        return out

    @property
    def plain(self) -> bool:
        """True when no fragment is held back: a delta without ``<`` passes whole."""
        return not self._pending

    def joined(self, pieces: list[str]) -> ContentDelta | ReasoningDelta:
        """One delta for ``pieces``, none holding ``<``, while :attr:`plain` (as :meth:`feed`)."""
        text = "".join(pieces)
        if self._in_think:
            return ReasoningDelta(text, len(pieces))
        self._sent_content = True
        return ContentDelta(text, len(pieces))

    def flush(self) -> list[Split]:
        """Release whatever fragment was held back at the end of the stream."""
        out: list[Split] = []
        self._emit(out, self._pending)
        self._pending = ""
        return out

    def _emit(self, out: list[Split], text: str) -> None:
        if text:
            if self._in_think:
                out.append(ReasoningDelta(text))
            else:
                self._sent_content = True
                out.append(ContentDelta(text))


def _plain_text(obj: dict[str, object], model: str | None) -> str | None:
    """The answer text of a chunk that holds nothing else, or None.

    Nothing else: no error, no new model, one plain ``delta`` whose ``content`` (a
    string, maybe empty) has no ``<``, and no reasoning, tool call, finish reason, usage
    or timings. For such a chunk :meth:`StreamAssembler.feed` only passes the text on.
    """
    if "error" in obj or obj.get("usage") is not None or obj.get("timings") is not None:
        return None
    named = obj.get("model")
    if named != model and isinstance(named, str) and named:
        return None
    choices = obj.get("choices")
    if type(choices) is not list or not choices:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason"):
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or delta.get("tool_calls"):
        return None
    for key in ("reasoning_content", "reasoning"):
        reasoning = delta.get(key)
        if isinstance(reasoning, str) and reasoning:
            return None
    text = delta.get("content")
    if text is None:
        return ""
    if type(text) is not str or "<" in text:
        return None
    return text


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class StreamAssembler:
    """Feeds SSE ``data`` payloads in, gets typed events out.

    Raises a typed error when the server puts an error object in the stream.
    Lines that are not JSON are counted and skipped, so one bad line does not
    cost the user the rest of the reply.
    """

    def __init__(
        self, *, completion: bool = False, loads: Callable[[str], object] = json.loads
    ) -> None:
        """``loads``: how each event's JSON is read (the async client's is orjson's)."""
        self._completion = completion
        self._loads = loads
        self._think = ThinkSplitter()
        self.model: str | None = None
        self.finish_reason: FinishReason | None = None
        self.done = False
        self.malformed = 0
        self.chunks = 0
        self.usage: Usage | None = None

    def feed(self, data: str) -> list[StreamEvent]:
        """Process one SSE data payload."""
        if data[:1] != "{" and data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            obj = self._loads(data)
        except (ValueError, RecursionError):
            self.malformed += 1
            return []
        if not isinstance(obj, dict):
            self.malformed += 1
            return []
        return self._fed(obj)

    def feed_many(self, datas: list[str], out: list[StreamEvent]) -> None:
        """Process the payloads one read completed, appending their events to ``out``.

        The same events as :meth:`feed` on each payload in turn, with each run of plain
        answer pieces (:func:`_plain_text`) joined into one delta that counts them in
        ``pieces``. Stops after ``[DONE]``. An error the server put in the stream is
        raised with ``out`` holding every event before it.
        """
        run: list[str] = []
        try:
            for data in datas:
                obj: object = None
                if data[:1] == "{":
                    try:
                        obj = self._loads(data)
                    except (ValueError, RecursionError):
                        obj = None
                if type(obj) is dict and not self._completion and self._think.plain:
                    text = _plain_text(obj, self.model)
                    if text is not None:
                        self.chunks += 1
                        if text:
                            run.append(text)
                        continue
                if run:  # the run ends here: its text comes before this payload's events
                    out.append(self._think.joined(run))
                    run = []
                if type(obj) is dict:
                    out += self._fed(obj)
                else:
                    out += self.feed(data)  # [DONE], or counted as malformed
                    if self.done:
                        return
        finally:
            if run:
                out.append(self._think.joined(run))

    def _fed(self, obj: dict[str, object]) -> list[StreamEvent]:
        """Events for one decoded chunk."""
        self.chunks += 1
        if "error" in obj and extract_error(obj) is not None:
            raise classify_error(None, obj, model=self.model)
        events: list[StreamEvent] = []
        model = obj.get("model")
        if model != self.model and isinstance(model, str) and model:
            self.model = model
            events.append(ModelUsed(model))
        choices = obj.get("choices")
        if isinstance(choices, list) and choices:
            choice = choices[0]
            if isinstance(choice, dict):
                self._choice(choice, events)
        # Most chunks carry neither: look before parsing (this runs once per delta).
        if obj.get("usage") is not None:
            usage = Usage.from_json(obj["usage"])
            if usage is not None:
                self.usage = usage
                events.append(UsageReport(usage))
        if obj.get("timings") is not None:
            timings = ServerTimings.from_llamacpp(obj["timings"])
            if timings is not None:
                events.append(TimingsReport(timings))
        return events

    def _choice(self, choice: dict[str, object], events: list[StreamEvent]) -> None:
        if self._completion:
            text = choice.get("text")
            if isinstance(text, str) and text:
                events.append(ContentDelta(text))
        else:
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            assert isinstance(delta, dict)
            # Looked for only when present: most deltas hold content alone.
            if "reasoning_content" in delta or "reasoning" in delta:
                for key in ("reasoning_content", "reasoning"):
                    reasoning = delta.get(key)
                    if isinstance(reasoning, str) and reasoning:
                        # Some servers send the same text under both names: take it once.
                        events.append(ReasoningDelta(reasoning))
                        break
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.extend(self._think.feed(content))
            tool_calls = delta.get("tool_calls")
            if tool_calls:  # custom tools: pieces assembled by backend/tool_calls.py
                pieces = tool_calls if isinstance(tool_calls, list) else [tool_calls]
                events.append(ToolCallFragments(tuple(pieces)))
        reason = choice.get("finish_reason")
        if reason:
            self.finish_reason = FinishReason.parse(reason)

    def flush(self) -> list[StreamEvent]:
        """Events still held back when the stream ends."""
        return list(self._think.flush())
