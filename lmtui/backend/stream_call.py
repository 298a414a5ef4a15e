"""One streamed request, without its I/O: the wire protocol both clients run.

A :class:`StreamCall` is told what the connection does (the answer's status and
content type, each SSE event, a cut, a transport failure, the reader stopping, the
end) and answers with typed events or a typed error. The async client
(:mod:`.client`) and the sync one (:mod:`.sync_client`) only move bytes: each has one
short loop that feeds a call, so what a stream means is decided in one place.

:class:`ChatStreamCall` is the OpenAI-compatible ``/v1/chat/completions`` and
``/v1/completions``; :class:`NativeStreamCall` is LM Studio 0.4's ``/api/v1/chat``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from lmtui.backend.assembly import StreamAssembler
from lmtui.backend.client_core import EMPTY_REPLY, EMPTY_REPLY_REMEDY, ClientCore, Exchange
from lmtui.backend.delta_merge import merge_deltas
from lmtui.backend.errors import (
    LmtuiError,
    MalformedResponse,
    StreamInterrupted,
    extract_error,
    parse_body,
)
from lmtui.backend.types import (
    JSON,
    ChatResult,
    ClientTimings,
    ContentDelta,
    ContentWasReasoning,
    Finish,
    FinishReason,
    ModelUsed,
    ReasoningDelta,
    ServerTimings,
    StreamEvent,
    Usage,
    UsageReport,
)

if TYPE_CHECKING:
    from lmtui.backend.native_chat import NativeAssembler

# What feed() counts (a tuple: `A | B` would build a union object per event).
_DELTAS = (ContentDelta, ReasoningDelta)


class StreamCall:
    """The protocol of one streamed POST; subclasses read their endpoint's events.

    The driving loop: :meth:`opened` with the answer's headers; if it says the answer
    is no stream, :meth:`whole` with the (bounded) body; else :meth:`feed` with each
    SSE event until :attr:`done`, and :meth:`cut` when reading fails mid-stream; then
    :meth:`end`. A failure while sending goes to :meth:`failed`, which returns the
    error to raise; a reader that stops early calls :meth:`stopped`.
    """

    def __init__(self, core: ClientCore, path: str, body: JSON, model: str) -> None:
        self.core = core
        self.path = path
        self.body = body
        self.model = model
        self.started = time.monotonic()
        self.exchange = Exchange("POST", path, body, time.time(), model_requested=model)
        self.first: float | None = None
        self.deltas = 0
        self.detail = ""
        self.cut_short = False
        self.done = False
        #: The status of the answer, once :meth:`opened` has seen it.
        self.status = 0

    # ---- the answer -------------------------------------------------------------

    def opened(self, status: int, headers: Mapping[str, str]) -> bool:
        """True when the answer (its status and headers) is an event stream for :meth:`feed`."""
        self.status = status
        self.exchange.status = status
        ctype = headers.get("content-type", "")
        return status < 400 and "text/event-stream" in ctype

    def whole(self, status: int, headers: Mapping[str, str], raw: bytes) -> list[StreamEvent]:
        """Events for an answer that is not a stream (an error, a whole reply), or raise.

        Args: the answer's status, its headers and its whole (bounded) body.
        """
        decoded = parse_body(raw) if raw else None
        self.exchange.response = decoded
        if status >= 400 or extract_error(decoded) is not None:
            raise self._error(status if status >= 400 else None, decoded)
        if 300 <= status < 400:
            raise self.core._redirected(status, headers, self.path)
        events = self._whole_answer(decoded)
        if events is not None:
            return events
        if not raw:
            raise StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY)
        ctype = headers.get("content-type", "")
        raise MalformedResponse(
            f"The server answered {self.path} with {ctype or 'no content type'}, not a stream."
        )

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        """Typed events for one SSE event; raises the error the server put in the stream."""
        events = self._feed(event, data)
        self._count(events)
        return events

    def _count(self, events: list[StreamEvent]) -> None:
        """Count the server's deltas among ``events`` (each stands for its ``pieces``)."""
        for ev in events:
            if isinstance(ev, _DELTAS):
                self.deltas += ev.pieces
                if self.first is None:
                    self.first = time.monotonic()

    def feed_read(self, read: list[tuple[str, str]]) -> tuple[list[StreamEvent], LmtuiError | None]:
        """Typed events for the SSE events one read of the connection completed.

        Each goes to :meth:`feed` until :attr:`done`; adjacent deltas come joined
        (:func:`~.delta_merge.merge_deltas`: one event per read, not per delta, for the
        layers above). An error the server put in the stream comes second, to raise
        once the events before it are passed on.
        """
        events: list[StreamEvent] = []
        try:
            for event, data in read:
                events += self.feed(event, data)
                if self.done:
                    break
        except LmtuiError as exc:
            return merge_deltas(events), exc
        return merge_deltas(events), None

    def cut(self, exc: httpx.HTTPError) -> None:
        """Reading the stream failed part-way: the reply ends as interrupted."""
        self.cut_short = True
        if isinstance(exc, httpx.ReadTimeout):
            self.detail = f"no data from the server for {self.core.read_timeout:g} s"
        else:
            self.detail = "the server closed the connection mid-reply"

    # ---- endings ----------------------------------------------------------------

    def failed(self, exc: Exception) -> LmtuiError:
        """The typed error for a failure while sending or reading; recorded for the log."""
        err = self.core._transport_error(exc, streaming=True)
        self.core._record(self.exchange, self.started, error=err)
        return err

    def stopped(self) -> None:
        """The reader stopped the stream (Esc): still a request the inspector lists."""
        self.exchange.model_used = self._assembler_model()
        self.exchange.finish_reason = FinishReason.STOPPED.value
        self.exchange.response = self._summary() | {"stopped": True}
        self.core._record(self.exchange, self.started)

    def end(self) -> list[StreamEvent]:
        """The last events of a stream read to its end: what was held back, one Finish."""
        raise NotImplementedError

    def _finish(
        self, events: list[StreamEvent], reason: FinishReason, usage: Usage | None, malformed: int
    ) -> list[StreamEvent]:
        """Append the :class:`Finish` with the client's timings; record the exchange."""
        end = time.monotonic()
        first = self.first
        tokens = usage.completion_tokens if usage else self.deltas
        tps = tokens / (end - first) if first is not None and end > first and tokens else None
        timings = ClientTimings(
            time_to_first_token_s=None if first is None else first - self.started,
            total_s=end - self.started,
            delta_count=self.deltas,
            tokens_per_second=tps,
        )
        ex = self.exchange
        ex.model_used = self._assembler_model()
        ex.finish_reason = reason.value
        ex.ttft_s = timings.time_to_first_token_s
        ex.tokens_per_second = tps
        ex.usage = usage
        ex.response = self._summary()
        self.core._record(ex, self.started)
        events.append(Finish(reason, timings, detail=self.detail, malformed_lines=malformed))
        return events

    def _fail_now(self, err: LmtuiError) -> LmtuiError:
        self.core._record(self.exchange, self.started, error=err)
        return err

    # ---- per endpoint -------------------------------------------------------------

    def _feed(self, event: str, data: str) -> list[StreamEvent]:
        raise NotImplementedError

    def _error(self, status: int | None, body: object) -> LmtuiError:
        return self.core._classify(status, body, model=self.model)

    def _whole_answer(self, decoded: object) -> list[StreamEvent] | None:
        raise NotImplementedError

    def _assembler_model(self) -> str | None:
        raise NotImplementedError

    def _summary(self) -> JSON:
        raise NotImplementedError


class ChatStreamCall(StreamCall):
    """``/v1/chat/completions`` or ``/v1/completions`` with ``stream: true``."""

    def __init__(
        self, core: ClientCore, path: str, body: JSON, model: str, *, completion: bool
    ) -> None:
        super().__init__(core, path, body, model)
        self.completion = completion
        self.assembler = StreamAssembler(completion=completion, loads=core._event_loads())
        self._whole_given = False

    def _feed(self, event: str, data: str) -> list[StreamEvent]:
        if event == "error":
            raise self._error(None, parse_body(data))
        events = self.assembler.feed(data)
        self.done = self.assembler.done
        return events

    def feed_read(self, read: list[tuple[str, str]]) -> tuple[list[StreamEvent], LmtuiError | None]:
        """See :meth:`StreamCall.feed_read`; the read's payloads go to the assembler at once.

        :meth:`StreamAssembler.feed_many` joins plain answer pieces as it decodes them,
        so a burst of thousands of deltas makes a handful of events (~2 µs less per delta
        than one :meth:`feed` each, benchmarks/README.md "TUI ÷ wire", session 7).
        """
        events: list[StreamEvent] = []
        error: LmtuiError | None = None
        assembler = self.assembler
        datas: list[str] = []
        try:
            for event, data in read:
                if event == "error":
                    assembler.feed_many(datas, events)
                    if assembler.done:
                        break
                    raise self._error(None, parse_body(data))
                datas.append(data)
            else:
                assembler.feed_many(datas, events)
        except LmtuiError as exc:
            error = exc
        self.done = assembler.done
        self._count(events)
        return merge_deltas(events), error

    def _whole_answer(self, decoded: object) -> list[StreamEvent] | None:
        if not (isinstance(decoded, dict) and isinstance(decoded.get("choices"), list)):
            return None
        # The server ignored stream=true and sent a whole answer.
        self._whole_given = True
        result = result_from_json(decoded, self.started, completion=self.completion)
        return events_from_result(result)

    def _assembler_model(self) -> str | None:
        return self.assembler.model

    def _summary(self) -> JSON:
        a = self.assembler
        return {"streamed": True, "chunks": a.chunks, "malformed": a.malformed}

    def end(self) -> list[StreamEvent]:
        """See :meth:`StreamCall.end`; raises when the stream held nothing usable."""
        if self._whole_given:
            return []
        a = self.assembler
        if not self.cut_short and not (a.chunks or a.malformed or a.done):
            # A 200 event stream with an empty body: LM Studio's way of failing on overflow.
            raise self._fail_now(StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY))
        events: list[StreamEvent] = list(a.flush())
        self.deltas += len(events)
        if self.cut_short:
            reason = FinishReason.INTERRUPTED
        elif a.finish_reason is not None:
            reason = a.finish_reason
        else:
            reason = FinishReason.INTERRUPTED
            self.detail = (
                "the stream ended without a finish reason"
                if a.done
                else "the stream ended before the server said it was done"
            )
        if a.chunks == 0 and a.malformed:
            raise self._fail_now(
                MalformedResponse(
                    f"The server's stream had {a.malformed} line(s) that are not JSON "
                    "and nothing else."
                )
            )
        return self._finish(events, reason, a.usage, a.malformed)


class NativeStreamCall(StreamCall):
    """LM Studio 0.4's ``/api/v1/chat`` with ``stream: true`` (named SSE events)."""

    def __init__(self, core: ClientCore, path: str, body: JSON, masked: JSON, model: str) -> None:
        super().__init__(core, path, body, model)
        from lmtui.backend.native_chat import NativeAssembler

        # The inspector and the log see the request with integration headers masked.
        self.exchange.request = masked
        self.exchange.extra["route"] = "native"
        self.assembler: NativeAssembler = NativeAssembler(core._event_loads())

    def _feed(self, event: str, data: str) -> list[StreamEvent]:
        events = self.assembler.feed(event, data, model=self.model)
        self.done = self.assembler.ended
        return events

    def _error(self, status: int | None, body: object) -> LmtuiError:
        from lmtui.backend.native_chat import classify_native_error

        err = classify_native_error(status, body, model=self.model)
        for secret in self.core._secrets:
            err.redact(secret)
        return err

    def _whole_answer(self, decoded: object) -> list[StreamEvent] | None:
        if not (isinstance(decoded, dict) and isinstance(decoded.get("output"), list)):
            return None
        # A whole answer (stream ignored): the same events, all at once.
        events = self.assembler.result_events(decoded)
        self.assembler.ended = True
        return events

    def _assembler_model(self) -> str | None:
        return self.assembler.model

    def _summary(self) -> JSON:
        return {"streamed": True, "events": self.assembler.events_seen}

    def end(self) -> list[StreamEvent]:
        """See :meth:`StreamCall.end`; raises the error event LM Studio sent, if any."""
        a = self.assembler
        if a.error is not None:
            self.exchange.response = self._summary()
            raise self._fail_now(a.error)
        if not self.cut_short and a.events_seen == 0 and not a.ended:
            raise self._fail_now(StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY))
        events: list[StreamEvent] = [] if a.ended else a.result_events({})
        if a.ended:
            reason = FinishReason.STOP
        else:
            reason = FinishReason.INTERRUPTED
            self.detail = self.detail or "the stream ended before chat.end"
        return self._finish(events, reason, a.usage, a.malformed)


def result_from_json(data: object, started: float, *, completion: bool) -> ChatResult:
    """Build a :class:`ChatResult` from a non-streamed answer."""
    if not isinstance(data, dict):
        raise MalformedResponse("The answer was not a JSON object.")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponse("The answer has no choices.")
    assembler = StreamAssembler(completion=completion)
    text = ""
    reasoning = ""
    for event in [*assembler.feed(json.dumps(data)), *assembler.flush()]:
        if isinstance(event, ContentDelta):
            text += event.text
        elif isinstance(event, ReasoningDelta):
            reasoning += event.text
        elif isinstance(event, ContentWasReasoning):
            reasoning, text = reasoning + text, ""
    end = time.monotonic()
    usage = Usage.from_json(data.get("usage"))
    stats = ServerTimings.from_lmstudio_stats(data.get("stats")) or ServerTimings.from_llamacpp(
        data.get("timings")
    )
    tokens = usage.completion_tokens if usage else 0
    return ChatResult(
        content=text,
        reasoning=reasoning,
        model_used=assembler.model,
        finish_reason=assembler.finish_reason or FinishReason.INTERRUPTED,
        usage=usage,
        server_timings=stats,
        client_timings=ClientTimings(
            time_to_first_token_s=None,
            total_s=end - started,
            delta_count=1,
            tokens_per_second=tokens / (end - started) if tokens and end > started else None,
        ),
    )


def events_from_result(result: ChatResult) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    if result.model:
        events.append(ModelUsed(result.model))
    if result.reasoning:
        events.append(ReasoningDelta(result.reasoning))
    if result.content:
        events.append(ContentDelta(result.content))
    if result.usage:
        events.append(UsageReport(result.usage))
    assert result.client_timings is not None
    events.append(Finish(result.finish_reason, result.client_timings))
    return events
