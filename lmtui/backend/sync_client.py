"""The synchronous client: the lean streaming path of ``lmtui ask``.

``lmtui ask`` streams one reply to stdout. On the async client (:mod:`.client`) it
would pay for asyncio and anyio (their imports and an event loop under every read),
a quarter of a bare consumer's time; this client uses ``httpx.Client`` instead
and imports neither. The event stream is split as the async client splits it
(:mod:`.sse`), into the events httpx-sse would read.

It covers what a one-shot chat turn needs: finding the server's API levels
(:meth:`SyncClient.detect`), listing its models, and streaming a reply on the
OpenAI-compatible path or LM Studio's ``/api/v1/chat``. Everything a stream means
(statuses, errors, events, endings) is decided by the same
:class:`~.stream_call.StreamCall` the async client drives, and the settings and error
mapping are :class:`~.client_core.ClientCore`'s: only the I/O differs.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from lmtui.backend.client_core import PROBE_PATHS, BodyLimit, ClientCore
from lmtui.backend.errors import LmtuiError
from lmtui.backend.native_chat import NativeChatRequest, native_stream_call
from lmtui.backend.sse import SSE, SSESplitter, charset_of
from lmtui.backend.stream_call import ChatStreamCall, StreamCall
from lmtui.backend.types import Capabilities, ChatRequest, Model, ServerKind, StreamEvent

# While a stream waits for the network, its waiting hooks run this often (seconds).
WAIT_TICK = 0.25


def _wait_for_data(sock: socket.socket, hooks: list[Callable[[], None]], limit: float) -> None:
    """Return once ``sock`` has data; run ``hooks`` first, and every WAIT_TICK meanwhile.

    Data already there (or in TLS's buffer) means no wait and no hook: a fast stream
    costs one ``select`` per socket read. After ``limit`` seconds of silence the wait
    ends as the read itself would, with a read timeout.
    """
    pending = getattr(sock, "pending", None)  # ssl.SSLSocket: bytes already decrypted
    if (pending is not None and pending()) or select.select((sock,), (), (), 0)[0]:
        return
    deadline = time.monotonic() + limit
    while True:
        for hook in hooks:
            hook()
        if select.select((sock,), (), (), WAIT_TICK)[0]:
            return
        if time.monotonic() >= deadline:
            raise httpx.ReadTimeout(f"no data for {limit:g} s")


def _sse_reads(resp: httpx.Response) -> Iterator[list[SSE]]:
    """The events of ``resp``'s event stream, in lists: those each chunk of the body completes.

    Split by :class:`~.sse.SSESplitter`, as the async client splits aiohttp's reads (the
    same events httpx-sse reads from the same bytes: tests/backend/test_sse.py), for
    :meth:`.StreamCall.feed_read`: httpx's text and line decoders and httpx-sse's
    per-line one cost more per event than splitting whole chunks. Never an empty list.
    """
    splitter = SSESplitter(charset_of(resp.headers.get("content-type", "")))
    for chunk in resp.iter_bytes():  # decoded, as httpx-sse's reading was (gzip…)
        events = splitter.feed(chunk)
        if events:
            yield events
    events = splitter.close()
    if events:
        yield events


@contextmanager
def _hooks_while_waiting(
    resp: httpx.Response, hooks: list[Callable[[], None]], limit: float
) -> Iterator[None]:
    """Run ``hooks`` whenever reading ``resp`` is about to wait on its socket.

    The connection's own reads are wrapped (``network_stream`` is httpcore's public
    extension), so data HTTP parsing already holds is never taken for a wait.
    """
    stream = resp.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not hooks or stream is None or sock is None:
        yield
        return
    read = stream.read

    def read_after_wait(*args: Any, **kwargs: Any) -> Any:
        _wait_for_data(sock, hooks, limit)
        return read(*args, **kwargs)

    stream.read = read_after_wait
    try:
        yield
    finally:
        del stream.read  # the pooled connection reads plainly again


class SyncClient(ClientCore):
    """Synchronous client for one server. Use as a context manager."""

    def _connect(self) -> None:
        self._http = httpx.Client(**self._http_options)
        #: Run each time a stream is about to wait for the network (every event read so
        #: far handed on), and every WAIT_TICK seconds while it waits: ``lmtui ask``
        #: flushes stdout there, and the chat session saves the reply once a second.
        self.waiting: list[Callable[[], None]] = []

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close all connections."""
        self._http.close()

    # ---- what the server offers -------------------------------------------------

    def _probe(self, path: str) -> object | None:
        """GET a path, returning its JSON or None when the server lacks it."""
        try:
            with self._http.stream("GET", path) as resp:
                raw = self._read_body(resp, path)
        except (httpx.HTTPError, LmtuiError) as exc:
            raise self._transport_error(exc) from None
        return self._probe_answer(resp, path, raw)

    def _read_body(self, resp: httpx.Response, path: str) -> bytes:
        """The body of ``resp``, or :class:`MalformedResponse` once it passes the bound."""
        bound = BodyLimit(self, resp.status_code, resp.headers, path)
        chunks: list[bytes] = []
        for chunk in resp.iter_bytes():
            bound.add(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    def detect(self, *, refresh: bool = False) -> Capabilities:
        """Find which API levels the server offers; remembered after the first call.

        The three listings are asked one after the other (the async client asks them at
        once): on a local server that is a millisecond or two.
        """
        if self._caps is not None and not refresh:
            return self._caps
        v1, v0, openai = (self._probe(path) for path in PROBE_PATHS)
        caps = self._levels_from(v1, v0, openai)
        if caps.kind is ServerKind.LLAMACPP:
            caps = self._with_props(caps, self._probe("/props"))
        self._caps = caps
        return caps

    def list_models(self, *, refresh: bool = True) -> list[Model]:
        """Every model the server offers, from its richest API level."""
        caps = self.detect(refresh=True) if self._caps is None or refresh else self._caps
        return self._models_listed(caps)

    # ---- chat ---------------------------------------------------------------------

    def stream_chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """Stream a chat reply as typed events, ending with one ``Finish``.

        The same events and errors as :meth:`LMStudioClient.stream_chat`.
        """
        call = ChatStreamCall(
            self, "/v1/chat/completions", request.to_json(stream=True), request.model,
            completion=False,
        )  # fmt: skip
        return self._run(call)

    def stream_native_chat(self, request: NativeChatRequest) -> Generator[StreamEvent, None, None]:
        """Stream one turn over LM Studio's ``/api/v1/chat`` (see :mod:`.native_chat`)."""
        return self._run(native_stream_call(self, request))

    def _run(self, call: StreamCall) -> Generator[StreamEvent, None, None]:
        """Drive ``call`` over the sync connection (the async twin: ``LMStudioClient._run``)."""
        try:
            with self._http.stream("POST", call.path, json=call.body) as resp:
                if not call.opened(resp.status_code, resp.headers):
                    body = self._read_body(resp, call.path)
                    yield from call.whole(resp.status_code, resp.headers, body)
                else:
                    try:
                        with _hooks_while_waiting(resp, self.waiting, self.read_timeout):
                            for read in _sse_reads(resp):  # the SSE events one chunk completed
                                events, error = call.feed_read(read)
                                yield from events
                                if error is not None:
                                    raise error
                                if call.done:
                                    break
                    except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                        call.cut(exc)
        except (GeneratorExit, KeyboardInterrupt):
            call.stopped()
            raise
        except (httpx.HTTPError, LmtuiError) as exc:
            raise call.failed(exc) from None
        yield from call.end()
