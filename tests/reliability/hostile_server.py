"""A hostile HTTP server for the attacker's-view tests: it answers however a test says.

``tests/fake_server.py`` plays a well-behaved LM Studio with scripted faults; this one
plays a server (or a proxy in front of one) that is broken or malicious at the HTTP
level: redirects, no response headers at all, endless bodies, escape sequences in its
errors. Each test gives a handler that returns the raw bytes to send; it runs on real
sockets on 127.0.0.1, in a thread.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

MODELS_BODY = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "x"}]}


@dataclass
class Request:
    """One request as the hostile server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Iterable[bytes]]


def response(
    status: int,
    body: bytes | str | object = b"",
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> list[bytes]:
    """A whole HTTP/1.1 response with ``Content-Length``."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append("Connection: close")
    return [("\r\n".join(head) + "\r\n\r\n").encode() + data]


def models_or(handler: Handler) -> Handler:
    """Answer ``GET /v1/models`` like an OpenAI server; everything else with ``handler``."""

    def handle(req: Request) -> Iterable[bytes]:
        if req.method == "GET" and req.path == "/v1/models":
            return response(200, MODELS_BODY)
        if req.method == "GET":
            return response(404, {"error": "no such path"})
        return handler(req)

    return handle


@dataclass
class HostileServer:
    """Serve ``handler`` on a free port; ``sent`` counts the bytes written per request."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    def __enter__(self) -> HostileServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._accept.join()
        for t in self._threads:
            t.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            t = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])
            }
            length = int(headers.get("content-length") or 0)
            while len(body) < length:
                body += conn.recv(65536)
            req = Request(method, path.split("?")[0], headers, body)
            self.requests.append(req)
            total = 0
            self.sent.append(0)
            index = len(self.sent) - 1
            for piece in self.handler(req):
                if self.stop.is_set():
                    return
                conn.sendall(piece)
                total += len(piece)
                self.sent[index] = total


def endless(chunk: bytes, stop: threading.Event, most: int = 160 * 1_048_576) -> Iterator[bytes]:
    """``chunk`` again and again until the client hangs up (or ``most`` bytes were sent)."""
    sent = 0
    while not stop.is_set() and sent < most:
        yield chunk
        sent += len(chunk)


def silence(stop: threading.Event, seconds: float = 20) -> Iterator[bytes]:
    """Send nothing for up to ``seconds``: a server that took the request and went quiet."""
    stop.wait(seconds)
    return
    yield b""  # a generator that yields nothing


TEXT = "the first words of a reply "


def keepalive_stream(stop: threading.Event) -> Iterator[bytes]:
    """A reply stream: four words of ``TEXT``, then SSE keep-alive comments until stopped."""
    yield (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
    )
    for word in TEXT.split(" ")[:4]:
        chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": word}}]}
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    while not stop.wait(0.2):
        yield b": keep-alive\n\n"


def steady_stream(stop: threading.Event, pace: float = 0.01, most: int = 20_000) -> Iterator[bytes]:
    """A reply that keeps coming: ``w0 w1 w2 …``, one word every ``pace`` seconds."""
    yield (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
    )
    for index in range(most):
        if stop.wait(pace):
            return
        chunk = {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": f"w{index} "}}],
        }
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
