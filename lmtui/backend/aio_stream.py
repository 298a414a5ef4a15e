"""The async client's streamed POSTs over aiohttp: a reply read as fast as it comes.

httpx hands every HTTP chunk up through h11, httpcore and anyio one at a time, and a
fast local server sends one SSE event per chunk: reading 4,000 deltas cost lmtui's
chat session ~64 ms where a bare sync consumer needs ~34 ms. aiohttp parses HTTP in C
and gives all the bytes a read found at once (benchmarks/README.md, "TUI ÷ wire",
session 6), so :class:`AioStreams` carries the three streamed POSTs
(``/v1/chat/completions``, ``/v1/completions``, ``/api/v1/chat``); every other request
stays on httpx.

It is a transport only: the same settings as the httpx client (address, token or
Basic auth, ``Accept``, connect timeout, a per-read idle timeout, no redirects, TLS
checked against httpx's CA bundle, proxies from the environment, no ``.netrc``), and
every failure raised as the httpx exception the httpx path would have met
(:func:`httpx_error`), so :meth:`~.client_core.ClientCore._transport_error` and
:meth:`~.stream_call.StreamCall.cut` stay the one place that says what a failure
means. Importing aiohttp costs 85–130 ms: this module is imported on the first stream
(and by the UI's warm-up thread), never on the app's start path.
"""

from __future__ import annotations

import asyncio
import io
import json
import select
import ssl
import weakref
from base64 import b64encode
from collections.abc import Mapping
from typing import TYPE_CHECKING, Self
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx
from aiohttp.helpers import get_env_proxy_for_url
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from lmtui.backend.client_core import BodyLimit, ClientCore
from lmtui.backend.sse import SSE, SSESplitter, charset_of

if TYPE_CHECKING:
    from types import TracebackType

    from lmtui.backend.types import JSON

# Above this a request body goes as a stream (aiohttp warns of raw bytes past 1 MB).
LARGE_BODY = 1_048_576

# What aiohttp raises when the connection fails, in any of its layers.
FAILURES = (aiohttp.ClientError, HttpProcessingError, TimeoutError, OSError)


def httpx_error(exc: BaseException) -> httpx.HTTPError:
    """The httpx exception for the failure aiohttp reported as ``exc``.

    The one translation between the two transports: connect timeout, refused or
    unresolved host, a read that waited longer than the read timeout, the server
    closing or resetting the connection, a broken HTTP answer, anything else.
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text)
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError: sock_read passed
        return httpx.ReadTimeout(text)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS, proxy
        return httpx.ConnectError(text)
    if isinstance(
        exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | HttpProcessingError
    ) or isinstance(exc.__cause__, HttpProcessingError):
        # Closed before or inside the answer, a chunked body cut short, bad HTTP (which
        # aiohttp wraps in a ClientResponseError when it is in the status or headers).
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):  # reset, a socket error
        return httpx.ReadError(text)
    return httpx.TransportError(text)


class AioStreams:
    """One client's aiohttp session, made inside the running loop on the first stream."""

    def __init__(self, core: ClientCore, connect_timeout: float) -> None:
        """Args: core: the client whose settings the streams use; connect_timeout: seconds."""
        self.core = core
        self._prefix = core.base_url.rstrip("/") + "/"
        headers = dict(core._http_options["headers"])
        if core._userinfo is not None:
            # As httpx's BasicAuth: it replaces a Bearer token when both are given.
            user, password = core._userinfo
            pair = b64encode(user.encode() + b":" + password.encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        headers["Content-Type"] = "application/json"
        self._headers = headers
        # httpx's read timeout is per read, as aiohttp's sock_read; its pool timeout is
        # the connect timeout, as aiohttp's connect (a free connection, then connected).
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=core.read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxy: tuple[str | None, aiohttp.BasicAuth | None] = (None, None)

    def post(self, path: str, body: JSON) -> AioAnswer:
        """``async with`` the answer to POSTing ``body`` (JSON) to ``path``."""
        # Encoded as httpx encodes ``json=``: compact, UTF-8, no NaN.
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return AioAnswer(self, self._prefix + path.lstrip("/"), data.encode())

    def session(self) -> aiohttp.ClientSession:
        """The session, made now if this loop has none."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        if session is not None and self._loop is not loop:
            session.detach()  # its connections belong to a loop that is gone
        tls: ssl.SSLContext | bool = True
        if self.core.base_url.startswith("https:"):
            # httpx's CA bundle (certifi, or SSL_CERT_FILE / SSL_CERT_DIR): what it accepted,
            # this accepts.
            tls = httpx.create_ssl_context()
        # httpx's limits and keep-alive expiry (5 s, as a Node.js server's own keep-alive).
        connector = aiohttp.TCPConnector(limit=16, keepalive_timeout=5.0, ssl=tls)
        # Not aiohttp's trust_env: it would send ~/.netrc's password over the token (httpx
        # reads no netrc) and ask two threads about it on every request (~10 ms in the app).
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, trust_env=False, headers=self._headers
        )
        self._proxy = env_proxy(self._prefix)
        self._loop = loop
        return self._session

    @property
    def proxy(self) -> tuple[str | None, aiohttp.BasicAuth | None]:
        """The environment's proxy for the server, and its credentials (see :func:`env_proxy`)."""
        return self._proxy

    async def close(self) -> None:
        """Close the session and its connections (nothing when none was made)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            if self._loop is asyncio.get_running_loop():
                await session.close()
            else:
                session.detach()


def env_proxy(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url``, as httpx's ``trust_env`` reads it.

    ``HTTP_PROXY`` / ``HTTPS_PROXY`` by the URL's scheme (``ALL_PROXY`` when neither is
    set), none when ``NO_PROXY`` covers the host. Read once per session: every stream
    goes to the same server.
    """
    target = URL(url)
    try:
        proxy, auth = get_env_proxy_for_url(target)
    except LookupError:
        every = getproxies().get("all")
        if not every or (target.host and proxy_bypass(target.host)):
            return None, None
        return every, None
    return str(proxy), auth


def _drop_closed_idle(session: aiohttp.ClientSession) -> None:
    """Close the pooled connections the server has closed (or written to) while idle.

    httpcore looks before reusing a connection; aiohttp trusts the loop to have seen
    the close, which it has not when the loop was busy (or blocked) since: the POST
    then went out on a dead connection and failed as "closed before replying". A
    readable idle socket is checked without waiting, as httpcore does.
    """
    pool = getattr(session.connector, "_conns", None)  # aiohttp's idle connections by key
    if not pool:
        return
    for idle in list(pool.values()):
        for protocol, _ in list(idle):
            transport = protocol.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None and select.select((sock,), (), (), 0)[0]:
                protocol.close()  # aiohttp skips a closed one when it takes from the pool


# The connections' "closed" futures a stream asked for: each is looked at when it ends.
_WATCHED: weakref.WeakSet[asyncio.Future[None]] = weakref.WeakSet()


def _look_at(closed: asyncio.Future[None]) -> None:
    """Retrieve how a connection ended, so asyncio does not log a reset as never retrieved."""
    if not closed.cancelled():
        closed.exception()


def _closed_future(resp: aiohttp.ClientResponse) -> asyncio.Future[None] | None:
    """The future aiohttp sets when ``resp``'s connection closes, if it still has one."""
    connection = resp.connection
    protocol = connection.protocol if connection is not None else None
    return protocol.closed if protocol is not None else None


class AioAnswer:
    """One streamed POST's answer: its status and headers, then its body or its events.

    ``async with`` sends the request; iterating gives the events each read completes,
    a list per read. An answer left early (Esc, an error, the stream's own end before
    the body's) drops its connection rather than put a half-read one back in the pool.
    """

    __slots__ = (
        "_closed",
        "_data",
        "_resp",
        "_splitter",
        "_streams",
        "_url",
        "headers",
        "status",
    )

    def __init__(self, streams: AioStreams, url: str, data: bytes) -> None:
        self._streams = streams
        self._url = url
        self._data = data
        self._resp: aiohttp.ClientResponse | None = None
        self._splitter: SSESplitter | None = None
        self._closed: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: Mapping[str, str] = {}

    async def __aenter__(self) -> Self:
        session = self._streams.session()
        _drop_closed_idle(session)
        # aiohttp sends a BytesIO in 64 KB pieces, yielding to the loop between them.
        big = len(self._data) > LARGE_BODY
        data = io.BytesIO(self._data) if big else self._data
        try:
            proxy, proxy_auth = self._streams.proxy
            resp = await session.post(
                self._url, data=data, allow_redirects=False, proxy=proxy, proxy_auth=proxy_auth
            )
        except FAILURES as exc:
            raise httpx_error(exc) from exc
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self._splitter = SSESplitter(charset_of(resp.headers.get("content-type", "")))
        self._closed = closed = _closed_future(resp)
        if closed is not None:
            closed.add_done_callback(self._lost)
            if closed not in _WATCHED:  # once per connection, however often it is reused
                _WATCHED.add(closed)
                closed.add_done_callback(_look_at)
        return self

    def _lost(self, closed: asyncio.Future[None]) -> None:
        """The connection closed: a body not read to its end fails rather than waits.

        aiohttp's C parser, meeting a broken chunk inside a body, closes the connection
        but leaves the body's reader waiting, with its read timeout dropped: without
        this, a server sending one bad chunk size would hang the reply forever.
        """
        resp = self._resp
        if resp is None:
            return
        content = resp.content
        if not content.is_eof() and content.exception() is None:
            content.set_exception(aiohttp.ClientPayloadError("the connection closed mid-body"))

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        resp = self._resp
        if resp is None:
            return
        if self._closed is not None:
            self._closed.remove_done_callback(self._lost)
        if kind is None:
            resp.release()  # aiohttp pools the connection only if the body was read whole
        else:
            resp.close()  # Esc or a failure: never pooled half-read
            # The socket closes on the loop's next turn: let it, so the server sees the
            # reader gone once the stream's ``aclose()`` returns, as with httpx.
            await asyncio.sleep(0)

    async def body(self, path: str) -> bytes:
        """The whole body, or :class:`MalformedResponse` once it passes its bound."""
        assert self._resp is not None
        bound = BodyLimit(self._streams.core, self.status, self.headers, path)
        chunks: list[bytes] = []
        content = self._resp.content
        try:
            while chunk := await content.readany():
                bound.add(chunk)
                chunks.append(chunk)
        except FAILURES as exc:
            raise httpx_error(exc) from exc
        return b"".join(chunks)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> list[SSE]:
        """The events the next read completes (never an empty list)."""
        assert self._resp is not None
        content = self._resp.content
        while True:
            splitter = self._splitter
            if splitter is None:
                raise StopAsyncIteration
            try:
                chunk = await content.readany()
            except FAILURES as exc:
                raise httpx_error(exc) from exc
            if chunk:
                events = splitter.feed(chunk)
            else:
                self._splitter = None
                events = splitter.close()
            if events:
                return events
