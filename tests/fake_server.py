"""A fake LM Studio server: real HTTP/1.1 on 127.0.0.1, scripted replies, fault injection.

Use it in-process from tests::

    with FakeServer() as srv:
        srv.enqueue(Reply(text="hello", cut_after=2))
        ...  # talk to srv.base_url with the real client

or as a process (benchmarks, tmux tests)::

    python tests/fake_server.py --port 0 --deltas 1000 --markdown

which prints one line, ``http://127.0.0.1:PORT``, and serves until SIGTERM/SIGINT.

It serves ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``, ``/health`` and LM Studio's native ``/api/v0/models``,
``/api/v1/models``, ``/api/v1/models/load``, ``/unload``, ``/download`` and
``/download/status/{job_id}`` (those four in tests/fake_models_admin.py).
Streams use chunked transfer encoding, one SSE event per chunk, so cutting a
connection mid-body is visible to the client as a broken message.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import http.server
import json
import math
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

try:
    from tests import fake_models_admin as admin
except ModuleNotFoundError:  # run as a script: tests/ is on sys.path, the repo root is not
    import fake_models_admin as admin  # type: ignore[no-redef]
try:
    from tests import fake_workbench
except ModuleNotFoundError:  # run as a script, as above
    import fake_workbench  # type: ignore[no-redef]

JSON = dict[str, Any]
ModelKind = Literal["llm", "vlm", "embeddings"]
ReasoningMode = Literal["reasoning_content", "reasoning", "think_tags"]
UsageOn = Literal["final_empty_choices", "last_delta", "none"]
MissingStyle = Literal["json404", "plain404", "lmstudio200"]

CREATED = 1747835957  # a fixed timestamp keeps every answer byte-for-byte reproducible

# ---- models -------------------------------------------------------------------------


@dataclass
class FakeModel:
    """One model the fake server knows; ``loaded`` really changes on load/unload."""

    id: str
    type: ModelKind = "llm"
    loaded: bool = False
    arch: str = "llama"
    quantization: str = "Q4_K_M"
    max_context_length: int = 32768
    loaded_context_length: int | None = None
    size_bytes: int = 4_000_000_000
    capabilities: list[str] = field(default_factory=list)
    publisher: str = "lmstudio-community"
    display_name: str = ""
    params_string: str | None = None
    reasoning_options: tuple[str, ...] = ("off", "on")
    reasoning_default: str = "on"

    @property
    def context_when_loaded(self) -> int:
        """The context length this model reports while loaded."""
        return self.loaded_context_length or min(self.max_context_length, 4096)


def default_models() -> list[FakeModel]:
    """A small catalogue: a loaded LLM, an unloaded VLM and reasoner, a loaded embedder."""
    return [
        FakeModel(
            "qwen2.5-7b-instruct",
            loaded=True,
            arch="qwen2",
            max_context_length=32768,
            loaded_context_length=8192,
            size_bytes=4_683_074_240,
            capabilities=["tool_use"],
            display_name="Qwen2.5 7B Instruct",
            params_string="7B",
        ),
        FakeModel(
            "qwen/qwen2.5-vl-7b",
            type="vlm",
            arch="qwen2vl",
            max_context_length=128000,
            size_bytes=6_200_000_000,
            publisher="qwen",
            display_name="Qwen2.5 VL 7B",
            params_string="7B",
        ),
        FakeModel(
            "deepseek-r1-distill-qwen-14b",
            arch="qwen2",
            quantization="Q6_K",
            max_context_length=131072,
            size_bytes=12_100_000_000,
            capabilities=["reasoning"],
            params_string="14B",
        ),
        FakeModel(
            "text-embedding-nomic-embed-text-v1.5",
            type="embeddings",
            loaded=True,
            arch="nomic-bert",
            quantization="Q8_0",
            max_context_length=2048,
            loaded_context_length=2048,
            size_bytes=146_000_000,
            publisher="nomic-ai",
        ),
    ]


def _v0_entry(srv: FakeServer, m: FakeModel) -> JSON:
    entry: JSON = {
        "id": m.id,
        "object": "model",
        "type": m.type,
        "publisher": m.publisher,
        "arch": m.arch,
        "compatibility_type": "gguf",
        "quantization": m.quantization,
        "state": admin.v0_state(srv, m),
        "max_context_length": m.max_context_length,
    }
    if m.loaded:
        entry["loaded_context_length"] = m.context_when_loaded
    if m.capabilities:
        entry["capabilities"] = list(m.capabilities)
    return entry


def _v1_entry(srv: FakeServer, m: FakeModel) -> JSON:
    bits = {"Q4_K_M": 4, "Q6_K": 6, "Q8_0": 8}.get(m.quantization, 4)
    entry: JSON = {
        "type": "embedding" if m.type == "embeddings" else "llm",
        "publisher": m.publisher,
        "key": m.id,
        "display_name": m.display_name or m.id.rsplit("/", 1)[-1],
        "architecture": m.arch,
        "quantization": {"name": m.quantization, "bits_per_weight": bits},
        "size_bytes": m.size_bytes,
        "params_string": m.params_string,
        "loaded_instances": admin.v1_instances(srv, m),
        "max_context_length": m.max_context_length,
        "format": "gguf",
    }
    if m.type != "embeddings":
        caps: JSON = {
            "vision": m.type == "vlm" or "vision" in m.capabilities,
            "trained_for_tool_use": "tool_use" in m.capabilities,
        }
        if "reasoning" in m.capabilities:
            caps["reasoning"] = {
                "allowed_options": list(m.reasoning_options),
                "default": m.reasoning_default,
            }
        entry["capabilities"] = caps
    return entry


# ---- error bodies (every shape in LMSTUDIO_API.md) --------------------------------------


def model_not_found_body(model: str) -> JSON:
    """LM Studio's nested error for an unknown model id."""
    return {
        "error": {
            "message": f'Invalid model identifier "{model}". Please specify a valid downloaded '
            'model (e.g., "qwen2.5-7b-instruct").',
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


NO_MODELS_MESSAGE = (
    "No models loaded. Please load a model in the developer page or use the 'lms load' command."
)
NO_MODELS_BODY: JSON = {
    "error": {
        "message": NO_MODELS_MESSAGE,
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }
}
OVERFLOW_MESSAGE = (
    "Trying to keep the first 4312 tokens when context the overflows. However, the model is "
    "loaded with context length of only 4096 tokens, which is not enough. Try to load the "
    "model with a larger context length, or provide a shorter input"
)
# LM Studio 0.4's answer (HTTP 401) when "Require API token" is on and none was sent.
AUTH_BODY: JSON = {
    "error": {
        "type": "invalid_request",
        "code": "invalid_api_key",
        "message": "An LM Studio API token is required to make requests to this server, but "
        "none was provided using the Authorization header using the 'Bearer' scheme (i.e., "
        "'Authorization: Bearer $LM_API_TOKEN'). Learn more at: "
        "https://lmstudio.ai/docs/developer/core/authentication.",
    }
}


# ---- scripted replies -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A scripted answer for one request, with every fault the client must survive.

    Delta indexes (``cut_after``, ``malformed_line_at``, ``error_chunk_at``,
    ``invalid_utf8_at``, ``stall_after``) count the streamed reasoning and content
    deltas together, in the order they are sent.
    """

    deltas: list[str] | None = None
    text: str | None = None  # split into 4-character deltas when ``deltas`` is None
    reasoning: list[str] = field(default_factory=list)
    reasoning_mode: ReasoningMode = "reasoning_content"
    finish_reason: str | None = "stop"  # None: never say why the reply ended
    usage: JSON | None = None  # None: counted from the words sent
    usage_on: UsageOn = "final_empty_choices"
    timings: JSON | None = None
    model: str | None = None  # the model id reported as served
    model_in_chunks: bool = True  # False: stream chunks carry no "model" (some servers)
    first_token_delay: float = 0.0
    delta_delay: float = 0.0
    cut_after: int | None = None
    cut_with_reset: bool = False  # RST instead of FIN when cutting
    malformed_line_at: int | None = None
    error_chunk_at: int | None = None
    error_chunk: JSON = field(default_factory=lambda: {"error": {"message": "Compute error."}})
    no_done: bool = False
    empty_200: bool = False
    status: int | None = None
    body: bytes | str | JSON | None = None
    content_type: str | None = None
    error_in_200: JSON | None = None
    ignore_stream: bool = False
    invalid_utf8_at: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 10.0  # upper bound: the server thread always ends
    content: str | None = None  # alias of ``text``
    delay: float | None = None  # alias of ``delta_delay``
    tool_calls: list[JSON] = field(default_factory=list)  # see tests/fake_workbench.py

    def __post_init__(self) -> None:
        if self.content is not None and self.text is None:
            object.__setattr__(self, "text", self.content)
        if self.delay is not None:
            object.__setattr__(self, "delta_delay", self.delay)

    def pieces(self) -> list[str]:
        """The content deltas this reply streams."""
        if self.deltas is not None:
            return list(self.deltas)
        return split_text(self.text or "")


def split_text(text: str, size: int = 4) -> list[str]:
    """Cut ``text`` into ``size``-character deltas."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _error_reply(status: int, body: bytes | str | JSON, content_type: str | None = None) -> Reply:
    return Reply(status=status, body=body, content_type=content_type)


MODEL_NOT_FOUND = _error_reply(404, model_not_found_body("x"))
MODEL_NOT_FOUND_400 = _error_reply(400, model_not_found_body("x"))
MODEL_NOT_FOUND_OLD = _error_reply(
    404, {"error": 'Model "x" not found. Please specify a valid model.'}
)
NO_MODELS_LOADED = _error_reply(400, NO_MODELS_BODY)
# What servers without assistant prefill send for a trailing assistant message (Mistral's words).
ASSISTANT_LAST_REJECTED = _error_reply(
    400,
    {
        "error": {
            "message": "Expected last role User or Tool (or Assistant with prefix True) "
            "for serving but got assistant",
            "type": "invalid_request_error",
            "code": 400,
        }
    },
)
NO_MODELS_LOADED_FLAT = _error_reply(400, {"error": NO_MODELS_MESSAGE})
CONTEXT_OVERFLOW_LMSTUDIO = _error_reply(400, {"error": OVERFLOW_MESSAGE})
CONTEXT_OVERFLOW_LMSTUDIO_200 = Reply(error_in_200={"error": OVERFLOW_MESSAGE})
CONTEXT_OVERFLOW_LLAMACPP = _error_reply(
    400,
    {
        "error": {
            "code": 400,
            "message": "request (2031 tokens) exceeds the available context size (512 tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 2031,
            "n_ctx": 512,
        }
    },
)
LOADING_503 = _error_reply(
    503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
)
EMBEDDINGS_501 = _error_reply(
    501,
    {
        "error": {
            "code": 501,
            "message": "This server does not support embeddings. Start it with `--embeddings`",
            "type": "not_supported_error",
        }
    },
)
AUTH_401 = _error_reply(401, AUTH_BODY)
PLAIN_500 = _error_reply(500, "Internal Server Error", "text/plain")
HTML_502 = _error_reply(
    502,
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>",
    "text/html",
)
EMPTY_503 = _error_reply(503, b"", "text/plain")

ERROR_SHAPES: dict[str, Reply] = {
    "MODEL_NOT_FOUND": MODEL_NOT_FOUND,
    "MODEL_NOT_FOUND_400": MODEL_NOT_FOUND_400,
    "MODEL_NOT_FOUND_OLD": MODEL_NOT_FOUND_OLD,
    "NO_MODELS_LOADED": NO_MODELS_LOADED,
    "NO_MODELS_LOADED_FLAT": NO_MODELS_LOADED_FLAT,
    "CONTEXT_OVERFLOW_LMSTUDIO": CONTEXT_OVERFLOW_LMSTUDIO,
    "CONTEXT_OVERFLOW_LMSTUDIO_200": CONTEXT_OVERFLOW_LMSTUDIO_200,
    "CONTEXT_OVERFLOW_LLAMACPP": CONTEXT_OVERFLOW_LLAMACPP,
    "LOADING_503": LOADING_503,
    "EMBEDDINGS_501": EMBEDDINGS_501,
    "AUTH_401": AUTH_401,
    "PLAIN_500": PLAIN_500,
    "HTML_502": HTML_502,
    "EMPTY_503": EMPTY_503,
}

MARKDOWN_DOC = """\
# Release notes

Here is a **short** summary of what changed, with a little `inline code`.

## Highlights

- Faster *streaming* of long replies
- A **bold** claim, then a [link](https://example.com)
- Nested items:
  1. first
  2. second

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

> A quote to close the section.

| key | value |
|-----|-------|
| a   | 1     |

"""


# ---- recording --------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received, and what became of a streamed answer."""

    method: str
    path: str
    headers: dict[str, str]
    json_body: Any
    deltas_sent: int = 0
    client_gone: bool = False  # a write failed: the client closed the connection
    peer: int = 0  # the client's port: two requests with the same one shared a connection
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def json(self) -> Any:
        """Alias of ``json_body``."""
        return self.json_body


# ---- the server -------------------------------------------------------------------------


class _ClientGone(Exception):
    """A write to the client failed."""


class _Cut(Exception):
    """The script says to drop the connection now."""


Op = bytes | tuple[str, float]  # a frame to write, or ("sleep"|"cut"|"reset"|"stall", seconds)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # joined on close, so no thread outlives the server
    block_on_close = True
    fake: FakeServer


class FakeServer:
    """The fake LM Studio server. Start with ``with FakeServer() as srv:`` or :meth:`start`."""

    def __init__(
        self,
        *,
        models: list[FakeModel] | None = None,
        native_v1: bool = True,
        native_v0: bool = True,
        token: str | None = None,
        port: int = 0,
        missing_style: MissingStyle = "json404",
        jit: bool = False,
        serve_single_loaded: bool = False,
        embeddings_enabled: bool = True,
        llamacpp_listing: bool = False,
        default_reply: Reply | None = None,
        tokens_per_second: float | None = None,
        slots: int | None = None,
        strict_vision: bool = False,
        native_chat: bool = False,
    ) -> None:
        self.models: list[FakeModel] = default_models() if models is None else models
        self.native_v1 = native_v1
        self.native_v0 = native_v0
        self.token = token
        self.missing_style: MissingStyle = missing_style
        self.jit = jit  # load a known-but-unloaded model on request, as LM Studio's JIT does
        self.serve_single_loaded = serve_single_loaded  # LM Studio's quirk for unknown ids
        self.embeddings_enabled = embeddings_enabled
        self.embedding_dims = EMBEDDING_DIMENSIONS  # 768 to stand in for nomic-embed-text
        self.llamacpp_listing = llamacpp_listing  # add llama.cpp's top-level "models" list
        self.default_reply = default_reply
        # Batch pools (tests/fake_workbench.py): per-delta pace and parallel slots.
        self.tokens_per_second = tokens_per_second
        self.slots = slots
        self._slot_sem = threading.BoundedSemaphore(slots) if slots else None
        self.strict_vision = strict_vision  # refuse images for a model that is not a VLM
        self.admin = admin.AdminState()  # instances, downloads, JIT listing: fake_models_admin
        # LM Studio 0.4's POST /api/v1/chat (tests/fake_native_chat.py); off: "Unexpected endpoint".
        self.native_chat = native_chat
        self.announce_requests = False  # print each request's arrival (for benchmarks)
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._queues: dict[str | None, deque[Reply]] = {}
        self._stop = threading.Event()
        self._cache: dict[tuple[Any, ...], list[Op]] = {}
        self._conns: set[socket.socket] = set()
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        httpd = _HTTPServer(("127.0.0.1", self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-lmstudio"
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop open connections and join every thread."""
        if self._httpd is None:
            return
        self._stop.set()
        self._httpd.shutdown()
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join()
        self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting

    def enqueue(self, reply: Reply, path: str | None = None) -> None:
        """Script the answer to the next chat/completions request (or the next one to ``path``)."""
        with self.lock:
            self._queues.setdefault(path, deque()).append(reply)

    def model(self, model_id: str) -> FakeModel | None:
        """The model with this id, if the server knows it."""
        with self.lock:
            return next((m for m in self.models if m.id == model_id), None)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for one path, oldest first."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def _next_reply(self, path: str) -> Reply | None:
        with self.lock:
            for key in (path, None) if path in _GENERATE_PATHS else (path,):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self.lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the server is shutting down."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()


_GENERATE_PATHS = ("/v1/chat/completions", "/v1/completions")
DOWNLOAD_STATUS = "/api/v1/models/download/status/"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLMStudio/0.4"
    timeout = 30  # an idle keep-alive connection cannot hold a thread forever
    # TCP_NODELAY, as LM Studio's Node.js server has by default: with Nagle on, a body
    # written after its headers waits for the client's delayed ACK (40 ms) on every
    # request but a connection's first, which no real server makes its clients pay.
    disable_nagle_algorithm = True
    server: _HTTPServer

    # -- plumbing

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no request log on stderr."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    @property
    def fake(self) -> FakeServer:
        return self.server.fake

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        rec = RecordedRequest(
            self.command, path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        rec.peer = self.client_address[1]
        with self.fake.lock:
            self.fake.requests.append(rec)
        if self.fake.announce_requests:  # benchmarks time the client's request against this
            print(f"request {rec.method} {path} {time.monotonic():.6f}", flush=True)
        try:
            self._route(rec)
        except _ClientGone:
            rec.client_gone = True
            self.close_connection = True
        finally:
            rec.done.set()

    def _route(self, rec: RecordedRequest) -> None:
        fake = self.fake
        path = rec.path
        if path == "/health":
            self._json(200, {"status": "ok"})
            return
        if fake.token is not None and rec.headers.get("authorization") != f"Bearer {fake.token}":
            self._json(401, AUTH_BODY)
            return
        routes = {
            ("GET", "/v1/models"): self._openai_models,
            ("GET", "/api/v0/models"): self._v0_models,
            ("GET", "/api/v1/models"): self._v1_models,
            ("POST", "/api/v1/models/load"): self._load,
            ("POST", "/api/v1/models/unload"): self._unload,
            ("POST", "/api/v1/models/download"): self._download,
            ("POST", "/v1/chat/completions"): self._generate_in_slot,
            ("POST", "/v1/completions"): self._generate_in_slot,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("GET", "/props"): self._props,
            ("POST", "/api/v1/chat"): self._native_chat,
        }
        handler = routes.get((rec.method, path))
        if rec.method == "GET" and path.startswith(DOWNLOAD_STATUS):
            handler = self._download_status
        native_off = (
            (path.startswith("/api/v1/") and not fake.native_v1)
            or (path.startswith("/api/v0/") and not fake.native_v0)
            or (path == "/props" and not fake.llamacpp_listing)
            or (path == "/api/v1/chat" and not fake.native_chat)
        )
        if handler is None or native_off:
            self._missing(rec)
            return
        scripted = fake._next_reply(path) if handler != self._generate_in_slot else None
        if scripted is not None:
            self._scripted_simple(scripted)
            return
        handler(rec)

    # -- writing

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError as exc:
            raise _ClientGone from exc

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _raw(self, status: int, body: bytes | str | JSON | None, ctype: str | None) -> None:
        if isinstance(body, dict):
            self._json(status, body)
            return
        data = body.encode() if isinstance(body, str) else body or b""
        if ctype is None:
            ctype = "text/html" if data.lstrip().startswith(b"<") else "text/plain"
        self._send(status, data, ctype)

    def _missing(self, rec: RecordedRequest) -> None:
        message = f"Unexpected endpoint or method. ({rec.method} {rec.path})"
        style = self.fake.missing_style
        if style == "plain404":
            self._raw(404, "Not Found", "text/plain")
        elif style == "lmstudio200":
            self._json(200, {"error": message + ". Returning 200 anyway"})
        else:
            self._json(404, {"error": message})

    def _scripted_simple(self, reply: Reply) -> None:
        """A scripted answer on a non-generating path: delays, errors or a raw body."""
        self.fake.wait(reply.first_token_delay)
        if reply.error_in_200 is not None:
            self._json(200, reply.error_in_200)
        else:
            self._raw(reply.status or 200, reply.body, reply.content_type)

    def _native_chat(self, rec: RecordedRequest) -> None:
        # LM Studio 0.4's /api/v1/chat lives in its own module (also run as a script).
        try:
            from tests.fake_native_chat import serve_native_chat
        except ImportError:
            from fake_native_chat import serve_native_chat  # type: ignore[no-redef]
        serve_native_chat(self, rec)

    # -- model listing and loading

    def _openai_models(self, rec: RecordedRequest) -> None:
        with self.fake.lock:
            data = [
                {"id": m.id, "object": "model", "owned_by": m.publisher}
                for m in admin.listed(self.fake, self.fake.models)
            ]
        body: JSON = {"object": "list", "data": data}
        if self.fake.llamacpp_listing:
            body["models"] = [{"name": d["id"], "model": d["id"]} for d in data]
        self._json(200, body)

    def _props(self, rec: RecordedRequest) -> None:
        """llama.cpp's ``/props`` (only when the fake plays llama.cpp)."""
        self._json(200, fake_workbench.llamacpp_props(self.fake.slots))

    def _v0_models(self, rec: RecordedRequest) -> None:
        fake = self.fake
        with fake.lock:
            data = [_v0_entry(fake, m) for m in admin.listed(fake, fake.models)]
        self._json(200, {"object": "list", "data": data})

    def _v1_models(self, rec: RecordedRequest) -> None:
        with self.fake.lock:
            models = [_v1_entry(self.fake, m) for m in self.fake.models]
        fake_workbench.add_parallel(models, self.fake.slots)
        self._json(200, {"models": models})

    # Loading, unloading and downloading live in fake_models_admin.

    def _load(self, rec: RecordedRequest) -> None:
        self._json(*admin.load(self.fake, rec.json_body))

    def _unload(self, rec: RecordedRequest) -> None:
        self._json(*admin.unload(self.fake, rec.json_body))

    def _download(self, rec: RecordedRequest) -> None:
        self._json(*admin.download(self.fake, rec.json_body))

    def _download_status(self, rec: RecordedRequest) -> None:
        self._json(*admin.download_status(self.fake, rec.path.removeprefix(DOWNLOAD_STATUS)))

    # -- embeddings

    def _embeddings(self, rec: RecordedRequest) -> None:
        fake = self.fake
        if not fake.embeddings_enabled:
            self._raw(501, EMBEDDINGS_501.body, None)
            return
        body = rec.json_body if isinstance(rec.json_body, dict) else {}
        model_id = str(body.get("model") or "")
        raw_input = body.get("input")
        inputs = [raw_input] if isinstance(raw_input, str) else raw_input
        if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
            self._json(400, {"error": {"message": "'input' must be a string or a list of strings"}})
            return
        m = fake.model(model_id)
        if m is None:
            self._json(404, model_not_found_body(model_id))
            return
        if m.type != "embeddings":
            self._json(
                400,
                {"error": {"message": f'Model "{model_id}" is not an embedding model.'}},
            )
            return
        data = [
            {"object": "embedding", "index": i, "embedding": embed_text(s, fake.embedding_dims)}
            for i, s in enumerate(inputs)
        ]
        tokens = sum(len(s.split()) for s in inputs)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": m.id,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- chat and completions

    def _generate_in_slot(self, rec: RecordedRequest) -> None:
        sem = self.fake._slot_sem
        if sem is None:
            self._generate(rec)
            return
        with sem:  # beyond its slots a server queues requests, as llama.cpp does
            self._generate(rec)

    def _generate(self, rec: RecordedRequest) -> None:
        fake = self.fake
        completion = rec.path == "/v1/completions"
        body = rec.json_body if isinstance(rec.json_body, dict) else {}
        stream = bool(body.get("stream"))
        reply = fake._next_reply(rec.path)
        if reply is not None and reply.status is not None:
            fake.wait(reply.first_token_delay)
            self._raw(reply.status, reply.body, reply.content_type)
            return
        if reply is not None and reply.error_in_200 is not None:
            fake.wait(reply.first_token_delay)
            self._json(200, reply.error_in_200)
            return
        requested = body.get("model")
        if reply is not None and isinstance(requested, str) and requested:
            served: str | None = requested  # a scripted reply answers whatever was asked
        else:
            served, error = self._resolve_model(requested)
            if error is not None:
                self._json(*error)
                return
        assert served is not None
        served_model = fake.model(served) if fake.strict_vision else None
        refusal = fake_workbench.vision_refusal(served_model.type if served_model else None, body)
        if refusal is not None:
            self._json(*refusal)
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if reply is None:
            structured = fake_workbench.structured_text(body)
            if structured is not None:
                reply = Reply(text=structured)
        if reply is None:
            reply = fake.default_reply or _echo_reply(body, completion)
        if fake.tokens_per_second and not reply.delta_delay:
            reply = dataclasses.replace(reply, delta_delay=1.0 / fake.tokens_per_second)
        # A whole answer always carries usage; a scripted usage is sent even unasked.
        include_usage = include_usage or not stream or reply.usage is not None
        model_name = reply.model or served
        if reply.empty_200:
            fake.wait(reply.first_token_delay)
            self._send(200, b"", "text/event-stream")
            return
        if not stream or reply.ignore_stream:
            fake.wait(reply.first_token_delay)
            self._json(200, _whole_answer(reply, model_name, completion, include_usage, body))
            return
        key = (id(reply), model_name, completion, include_usage)
        ops = fake._cache.get(key) if reply is fake.default_reply else None
        if ops is None:
            ops = _stream_ops(reply, model_name, completion, include_usage, body)
            if reply is fake.default_reply:
                fake._cache[key] = ops
        self._stream(rec, ops)

    def _resolve_model(self, requested: object) -> tuple[str | None, tuple[int, JSON] | None]:
        """Which model serves a request, or the error LM Studio would send."""
        fake = self.fake
        with fake.lock:
            llms = [m for m in fake.models if m.type != "embeddings"]
            loaded = [m for m in llms if m.loaded]
            name = requested if isinstance(requested, str) else ""
            m = next((x for x in fake.models if x.id == name), None)
            if not name:
                if loaded:
                    return loaded[0].id, None
                return None, (400, NO_MODELS_BODY)
            if m is None or m.type == "embeddings":
                if fake.serve_single_loaded and len(loaded) == 1:
                    return loaded[0].id, None
                return None, (404, model_not_found_body(name))
            if not m.loaded:
                if fake.jit:
                    m.loaded = True
                    return m.id, None
                if not loaded:
                    return None, (400, NO_MODELS_BODY)
                return None, (404, model_not_found_body(name))
            return m.id, None

    def _stream(self, rec: RecordedRequest, ops: list[Op]) -> None:
        fake = self.fake
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
        except OSError as exc:
            raise _ClientGone from exc
        pending: list[bytes] = []
        pending_deltas = 0

        def flush() -> None:
            nonlocal pending_deltas
            if not pending:
                return
            data = b"".join(pending)
            try:
                # In slices: the socket's timeout bounds each whole write, and a huge
                # reply read by a slow client may take longer than that in all.
                for start in range(0, len(data), WRITE_SLICE):
                    self.wfile.write(data[start : start + WRITE_SLICE])
            except OSError as exc:
                raise _ClientGone from exc
            rec.deltas_sent += pending_deltas
            pending.clear()
            pending_deltas = 0

        for op in ops:
            if isinstance(op, bytes):
                pending.append(op)
                if _is_delta_frame(op):
                    pending_deltas += 1
                continue
            flush()
            action, seconds = op
            if action == "sleep":
                if fake.wait(seconds):
                    self._drop(reset=False)
                    return
            elif action in ("cut", "reset"):
                self._drop(reset=action == "reset")
                return
            elif action == "stall":
                fake.wait(seconds)
                self._drop(reset=False)
                return
        pending.append(b"0\r\n\r\n")
        flush()
        if fake.announce_requests:
            print(f"sent {rec.method} {rec.path} {time.monotonic():.6f}", flush=True)

    def _drop(self, *, reset: bool) -> None:
        """Close the connection mid-body, without the final empty chunk."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            else:
                self.connection.shutdown(socket.SHUT_WR)
            self.connection.close()


WRITE_SLICE = 1 << 18  # bytes per socket write of a stream


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _sse(obj: JSON | str) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return _chunk(b"data: " + data.encode() + b"\n\n")


# A chunk extension (RFC 9112 §7.1.1) marks delta frames; clients ignore extensions.
_DELTA_EXT = b";d"


def _delta_frame(obj: JSON, invalid_utf8: bool = False) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    if invalid_utf8:
        data = data.replace(_BAD_PLACEHOLDER.encode(), b"\xff\xfe")
    payload = b"data: " + data + b"\n\n"
    return b"%x%s\r\n%s\r\n" % (len(payload), _DELTA_EXT, payload)


_BAD_PLACEHOLDER = "@@INVALID-UTF8@@"


def _is_delta_frame(frame: bytes) -> bool:
    head = frame[: frame.find(b"\r\n")]
    return head.endswith(_DELTA_EXT)


def _words(text: str) -> int:
    return len(text.split())


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _prompt_words(body: JSON, completion: bool) -> int:
    if completion:
        return _words(str(body.get("prompt") or ""))
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(_words(_message_text(m.get("content"))) for m in messages if isinstance(m, dict))


def _echo_reply(body: JSON, completion: bool) -> Reply:
    """The deterministic default answer: the last user message (or prompt) echoed back."""
    if completion:
        source = str(body.get("prompt") or "")
    else:
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
        source = _message_text(users[-1].get("content")) if users else ""
    words = source.split() or ["(empty)"]
    finish = "stop"
    limit = body.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < len(words):
        words = words[:limit]
        finish = "length"
    deltas = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return Reply(deltas=deltas, finish_reason=finish)


def _usage(reply: Reply, body: JSON, completion: bool, content: str, reasoning: str) -> JSON:
    if reply.usage is not None:
        return dict(reply.usage)
    prompt = _prompt_words(body, completion)
    done = _words(content) + _words(reasoning)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _reasoning_key(reply: Reply) -> str:
    return "reasoning" if reply.reasoning_mode == "reasoning" else "reasoning_content"


def _whole_answer(
    reply: Reply, model: str, completion: bool, include_usage: bool, body: JSON
) -> JSON:
    content = "".join(reply.pieces())
    reasoning = "".join(reply.reasoning)
    if reasoning and reply.reasoning_mode == "think_tags":
        content = f"<think>{reasoning}</think>{content}"
    choice: JSON = {"index": 0, "logprobs": None, "finish_reason": reply.finish_reason}
    if completion:
        choice["text"] = content
    else:
        message: JSON = {"role": "assistant", "content": content}
        if reasoning and reply.reasoning_mode != "think_tags":
            message[_reasoning_key(reply)] = reasoning
        if reply.tool_calls:
            message["tool_calls"] = fake_workbench.tool_call_message(reply.tool_calls)
        choice["message"] = message
    answer: JSON = {
        "id": "cmpl-fake" if completion else "chatcmpl-fake",
        "object": "text_completion" if completion else "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [choice],
    }
    if include_usage and reply.usage_on != "none":
        answer["usage"] = _usage(reply, body, completion, content, reasoning)
    if reply.timings is not None:
        answer["timings"] = dict(reply.timings)
    return answer


def _stream_ops(
    reply: Reply, model: str, completion: bool, include_usage: bool, body: JSON
) -> list[Op]:
    """Pre-encode a streamed answer as frames plus sleep/cut/stall actions."""
    obj_name = "text_completion" if completion else "chat.completion.chunk"
    ident = "cmpl-fake" if completion else "chatcmpl-fake"

    def chunk(choices: list[JSON], **extra: Any) -> JSON:
        served: JSON = {"model": model, "system_fingerprint": model}
        return {
            "id": ident,
            "object": obj_name,
            "created": CREATED,
            **(served if reply.model_in_chunks else {}),
            "choices": choices,
            **extra,
        }

    # (kind, text): kind is "reasoning" or "content"
    items: list[tuple[str, str]] = []
    if not completion and reply.reasoning:
        if reply.reasoning_mode == "think_tags":
            items.append(("content", "<think>"))
            items.extend(("content", r) for r in reply.reasoning)
            items.append(("content", "</think>"))
        else:
            items.extend(("reasoning", r) for r in reply.reasoning)
    items.extend(("content", c) for c in reply.pieces())

    ops: list[Op] = []
    if reply.first_token_delay > 0:
        ops.append(("sleep", reply.first_token_delay))
    sent_content = ""
    sent_reasoning = ""
    for i, (kind, text) in enumerate(items):
        if _fault(reply, i, ops, chunk):
            return ops
        if i > 0 and reply.delta_delay > 0:
            ops.append(("sleep", reply.delta_delay))
        bad = reply.invalid_utf8_at == i
        piece = _BAD_PLACEHOLDER + text if bad else text
        if completion:
            choice: JSON = {"index": 0, "text": piece, "logprobs": None, "finish_reason": None}
        else:
            delta: JSON = {"role": "assistant"} if i == 0 else {}
            delta[_reasoning_key(reply) if kind == "reasoning" else "content"] = piece
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
        ops.append(_delta_frame(chunk([choice]), invalid_utf8=bad))
        if kind == "reasoning":
            sent_reasoning += text
        else:
            sent_content += text
    if _fault(reply, len(items), ops, chunk):
        return ops
    for tool_delta in [] if completion else fake_workbench.tool_call_deltas(reply.tool_calls):
        tool_choice: JSON = {"index": 0, "delta": tool_delta, "logprobs": None}
        ops.append(_delta_frame(chunk([tool_choice | {"finish_reason": None}])))
    usage = None
    if include_usage and reply.usage_on != "none":
        usage = _usage(reply, body, completion, sent_content, sent_reasoning)
    extra: JSON = {}
    if reply.timings is not None:
        extra["timings"] = dict(reply.timings)
    if usage is not None and reply.usage_on == "last_delta":
        extra["usage"] = usage
    final_choice: JSON = {"index": 0, "logprobs": None, "finish_reason": reply.finish_reason}
    if completion:
        final_choice["text"] = ""
    else:
        final_choice["delta"] = {}
    if reply.finish_reason is not None or extra:
        ops.append(_sse(chunk([final_choice], **extra)))
    if usage is not None and reply.usage_on == "final_empty_choices":
        ops.append(_sse(chunk([], usage=usage)))
    if not reply.no_done:
        ops.append(_sse("[DONE]"))
    return ops


def _fault(reply: Reply, i: int, ops: list[Op], chunk: Any) -> bool:
    """Add the faults scheduled before delta ``i``; True when the stream ends here."""
    if reply.malformed_line_at == i:
        ops.append(_chunk(b"data: {not json\n\n"))
    if reply.error_chunk_at == i:
        ops.append(_sse(reply.error_chunk))
        return True
    if reply.cut_after == i:
        ops.append(("reset" if reply.cut_with_reset else "cut", 0.0))
        return True
    if reply.stall_after == i:
        ops.append(("stall", reply.stall_seconds))
        return True
    return False


# ---- embeddings -------------------------------------------------------------------------

EMBEDDING_DIMENSIONS = 64
_WORD = re.compile(r"[a-z0-9]+")


def embed_text(text: str, dims: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A hashed bag of words, L2-normalised: shared words make vectors closer."""
    vec = [0.0] * dims
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dims
        vec[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0:
        vec[0] = 1.0
        return vec
    return [x / norm for x in vec]


# ---- command line -----------------------------------------------------------------------


def markdown_deltas(count: int, size: int = 4, *, numbered: bool = False) -> list[str]:
    """The Markdown document cut into ``size``-character deltas, repeated to ``count`` deltas.

    ``numbered``: each copy starts with its own ``## Part N`` heading, so the reply
    never loops (the repetition detector keeps checking it, as for real text).
    """
    if not numbered:
        pieces = split_text(MARKDOWN_DOC, size)
        out: list[str] = []
        while len(out) < count:
            out.extend(pieces)
        return out[:count]
    parts: list[str] = []
    chars = 0
    part = 0
    while chars < count * size:
        parts.append(f"## Part {part}\n\n{MARKDOWN_DOC}")
        chars += len(parts[-1])
        part += 1
    return split_text("".join(parts), size)[:count]


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Fake LM Studio server for lmtui's tests.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument("--deltas", type=int, default=0, help="stream this many deltas per reply")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--delta-text", default="tok ", help="the text of each delta")
    what.add_argument("--markdown", action="store_true", help="stream a Markdown document")
    parser.add_argument("--delta-chars", type=int, default=4, help="with --markdown: delta size")
    parser.add_argument(
        "--numbered", action="store_true", help="with --markdown: number each copy (no loop)"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument(
        "--announce",
        action="store_true",
        help="print 'request METHOD PATH MONOTONIC' on stdout as each request arrives",
    )
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    parser.add_argument("--no-native", action="store_true", help="no /api/v0 or /api/v1")
    parser.add_argument("--token", help="require this Bearer token")
    parser.add_argument("--tokens-per-second", type=float, help="pace every reply's deltas")
    parser.add_argument("--slots", type=int, help="replies generated at once (more queue)")
    parser.add_argument(
        "--native-chat",
        action="store_true",
        help="serve LM Studio 0.4's /api/v1/chat (tests/fake_native_chat.py)",
    )
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=0.0,
        help="with --native-chat: each unloaded model takes this long to load, in 10 steps",
    )
    parser.add_argument(
        "--loading-chats",
        type=int,
        default=0,
        help="answer the first N chat requests 503 'Loading model', as llama.cpp does",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print the base URL as the only line on stdout."""
    args = _parse_args(argv)
    default = None
    if args.deltas > 0:
        deltas = (
            markdown_deltas(args.deltas, args.delta_chars, numbered=args.numbered)
            if args.markdown
            else [args.delta_text] * args.deltas
        )
        default = Reply(
            deltas=deltas,
            delta_delay=args.delay,
            first_token_delay=args.first_token_delay,
        )
    srv = FakeServer(
        port=args.port,
        native_v1=not args.no_native,
        native_v0=not args.no_native,
        token=args.token,
        default_reply=default,
        tokens_per_second=args.tokens_per_second,
        slots=args.slots,
        native_chat=args.native_chat,
    )
    srv.announce_requests = args.announce
    if args.load_seconds > 0:
        srv.native_load_delay = args.load_seconds / 10  # read by tests/fake_native_chat.py
    for _ in range(args.loading_chats):
        srv.enqueue(LOADING_503, path="/v1/chat/completions")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with srv:
        print(srv.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
