"""The async client for LM Studio and OpenAI-compatible servers.

One ``LMStudioClient`` per server. It probes which API levels the server offers
(``/api/v1``, ``/api/v0``, ``/v1``) once, remembers the answer, and maps every
failure to a typed error from :mod:`lmtui.backend.errors`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from httpx_sse import EventSource

from lmtui.backend.assembly import StreamAssembler
from lmtui.backend.downloads import DownloadJob, parse_download
from lmtui.backend.errors import (
    LmtuiError,
    MalformedResponse,
    ModelLoading,
    NotSupported,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
    classify_error,
    extract_error,
    parse_body,
    redact_value,
)
from lmtui.backend.models import parse_models
from lmtui.backend.types import (
    JSON,
    ApiLevel,
    Capabilities,
    ChatRequest,
    ChatResult,
    ClientTimings,
    CompletionRequest,
    ContentDelta,
    ContentWasReasoning,
    Embedding,
    Finish,
    FinishReason,
    Health,
    LoadConfig,
    LoadResult,
    Model,
    ModelUsed,
    ReasoningDelta,
    ServerKind,
    ServerTimings,
    StreamEvent,
    Usage,
    UsageReport,
    opt_int,
)
from lmtui.backend.urls import DEFAULT_BASE_URL, display_url, normalize_base_url, split_userinfo

# Bounds on what lmtui reads from one answer: a hostile or broken server cannot make
# it hold a 400 MB page in memory. Streams are read event by event and not bounded here.
MAX_BODY_BYTES = 64 * 1_048_576
MAX_ERROR_BODY_BYTES = 1_048_576

if TYPE_CHECKING:
    from lmtui.backend.native_chat import NativeChatRequest

EMPTY_REPLY = "The server closed the reply without sending anything."
EMPTY_REPLY_REMEDY = (
    "This often means the prompt did not fit the model's context: "
    "shorten it or reload the model with a larger context, then retry."
)


@dataclass(slots=True)
class Exchange:
    """One request and what came back, for the request inspector and the log."""

    method: str
    path: str
    request: JSON | None
    started: float
    status: int | None = None
    response: object = None
    duration_s: float | None = None
    error: str | None = None
    model_requested: str | None = None
    model_used: str | None = None
    finish_reason: str | None = None
    ttft_s: float | None = None
    tokens_per_second: float | None = None
    usage: Usage | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ExchangeHook = Callable[[Exchange], None]


class LMStudioClient:
    """Async client for one server. Use as an async context manager."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 300.0,
        on_exchange: ExchangeHook | None = None,
    ) -> None:
        # Credentials in the URL (``http://user:pw@host``) go on the wire as Basic auth;
        # ``base_url``, which every message, log and history row shows, never holds them.
        self.base_url, userinfo = split_userinfo(normalize_base_url(base_url))
        self.read_timeout = read_timeout
        self._token = token or None
        self._secrets = tuple(s for s in (self._token, userinfo and userinfo[1]) if s)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(*userinfo) if userinfo else None,
            headers=headers,
            # Building the TLS context costs ~20 ms at start-up; a plain-HTTP base URL never
            # uses it (redirects are not followed), so skip it there.
            verify=not self.base_url.startswith("http://"),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )
        self._caps: Capabilities | None = None
        self._caps_lock = asyncio.Lock()
        self._raw_models: dict[ApiLevel, object] = {}
        self._llamacpp_ctx: int | None = None
        self.on_exchange = on_exchange

    async def __aenter__(self) -> LMStudioClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close all connections."""
        await self._http.aclose()

    # ---- low-level ------------------------------------------------------------

    def _unreachable(self, exc: Exception) -> LmtuiError:
        if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
            # The connection was made: the server is there, it just did not answer.
            return ServerError(
                f"The server at {self.base_url} accepted the request but sent no answer "
                f"within {self.read_timeout:g} s.",
                "It may be busy or still loading a model: retry, or raise read_timeout "
                "in config.toml.",
            )
        if isinstance(exc, httpx.TimeoutException):
            what = "did not answer in time"
        elif isinstance(exc, httpx.ConnectError) and "Name or service" in str(exc):
            what = "host name could not be resolved"
        else:
            what = "refused the connection"
        return ServerUnreachable(f"Cannot reach the server at {self.base_url}: {what}.")

    async def _request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        *,
        timeout: float | None = None,
        model: str | None = None,
    ) -> object:
        """Send one request and return the decoded JSON, or raise a typed error."""
        started = time.monotonic()
        ex = Exchange(method, path, body, time.time(), model_requested=model)
        try:
            kwargs: dict[str, Any] = {}
            if timeout is not None:
                kwargs["timeout"] = timeout
            async with self._http.stream(method, path, json=body, **kwargs) as resp:
                raw = await self._read_body(resp, path)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            err = self._unreachable(exc)
            self._record(ex, started, error=err)
            raise err from None
        except httpx.TimeoutException as exc:
            err = self._unreachable(exc)
            self._record(ex, started, error=err)
            raise err from None
        except httpx.HTTPError as exc:
            err2: LmtuiError = MalformedResponse(
                f"The connection to {self.base_url} failed: {exc}."
            )
            self._record(ex, started, error=err2)
            raise err2 from None
        except LmtuiError as exc:  # the body passed its bound
            self._record(ex, started, error=exc)
            raise
        ex.status = resp.status_code
        decoded = parse_body(raw) if raw else None
        ex.response = decoded
        if resp.status_code >= 400 or extract_error(decoded) is not None:
            err3 = self._classify(
                resp.status_code if resp.status_code >= 400 else None, decoded, model=model
            )
            self._record(ex, started, error=err3)
            raise err3
        if 300 <= resp.status_code < 400:
            err5 = self._redirected(resp, path)
            self._record(ex, started, error=err5)
            raise err5
        if not isinstance(decoded, dict | list):
            err4 = MalformedResponse(
                f"The server at {self.base_url} answered {path} with something that is not JSON."
            )
            self._record(ex, started, error=err4)
            raise err4
        self._record(ex, started)
        return decoded

    def _record(self, ex: Exchange, started: float, *, error: LmtuiError | None = None) -> None:
        # A server may echo the token back in an error body: it must reach no message,
        # log, history row or inspector view. ``error`` is the object about to be raised.
        for secret in self._secrets:
            if error is not None:
                error.redact(secret)
            ex.response = redact_value(ex.response, secret)
        if self.on_exchange is None:
            return
        ex.duration_s = time.monotonic() - started
        if error is not None:
            ex.error = f"{error.message}"
            ex.extra["error_kind"] = error.kind
        self.on_exchange(ex)

    async def _probe(self, path: str) -> object | None:
        """GET a path, returning its JSON or None when the server lacks it."""
        try:
            async with self._http.stream("GET", path) as resp:
                raw = await self._read_body(resp, path)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise self._unreachable(exc) from None
        except httpx.TimeoutException as exc:
            raise self._unreachable(exc) from None
        except httpx.HTTPError as exc:
            raise MalformedResponse(f"The connection to {self.base_url} failed: {exc}.") from None
        if resp.status_code in (401, 403):
            raise self._classify(resp.status_code, parse_body(raw))
        if 300 <= resp.status_code < 400:
            raise self._redirected(resp, path)
        if resp.status_code == 503:
            # llama.cpp answers every path with 503 "Loading model" while it loads.
            err = self._classify(resp.status_code, parse_body(raw))
            if isinstance(err, ModelLoading):
                raise err
        if resp.status_code != 200:
            return None
        data = parse_body(raw)
        return data if isinstance(data, dict | list) else None

    async def _read_body(self, resp: httpx.Response, path: str) -> bytes:
        """The body of ``resp``, or :class:`MalformedResponse` once it passes the bound."""
        limit = MAX_BODY_BYTES if resp.status_code < 300 else MAX_ERROR_BODY_BYTES
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(path, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(path, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, path: str, limit: int) -> MalformedResponse:
        return MalformedResponse(
            f"The server's answer to {path} is larger than {limit // 1_048_576} MB; "
            "lmtui stopped reading it."
        )

    def _classify(self, status: int | None, body: object, model: str | None = None) -> LmtuiError:
        """``classify_error`` on a body whose secrets are blanked out first.

        Redacting before the message is cut to length means no part of an echoed token
        survives at the cut.
        """
        for secret in self._secrets:
            body = redact_value(body, secret)
        err = classify_error(status, body, model=model)
        for secret in self._secrets:
            err.redact(secret)
        return err

    def _redirected(self, resp: httpx.Response, path: str) -> ServerError:
        where = display_url(resp.headers.get("location", "")) or "an address it did not give"
        return ServerError(
            f"The server redirected {path} to {where} (HTTP {resp.status_code}); "
            "lmtui does not follow redirects.",
            "If that is where the server lives, use it as --base-url (or base_url in config.toml).",
            status=resp.status_code,
        )

    # ---- capabilities -----------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities | None:
        """What :meth:`detect` found, if it has run."""
        return self._caps

    async def detect(self, *, refresh: bool = False) -> Capabilities:
        """Find which API levels the server offers; remembered after the first call."""
        async with self._caps_lock:
            if self._caps is not None and not refresh:
                return self._caps
            v1, v0, openai = await asyncio.gather(
                self._probe("/api/v1/models"),
                self._probe("/api/v0/models"),
                self._probe("/v1/models"),
            )
            levels: list[ApiLevel] = []
            self._raw_models = {}
            if isinstance(v1, dict) and isinstance(v1.get("models"), list):
                levels.append(ApiLevel.NATIVE_V1)
                self._raw_models[ApiLevel.NATIVE_V1] = v1
            if isinstance(v0, dict) and isinstance(v0.get("data"), list):
                levels.append(ApiLevel.NATIVE_V0)
                self._raw_models[ApiLevel.NATIVE_V0] = v0
            if isinstance(openai, dict) and isinstance(openai.get("data"), list):
                levels.append(ApiLevel.OPENAI)
                self._raw_models[ApiLevel.OPENAI] = openai
            if not levels:
                raise MalformedResponse(
                    f"{self.base_url} answered, but not as an OpenAI-compatible server "
                    "(no /v1/models)."
                )
            if ApiLevel.NATIVE_V1 in levels or ApiLevel.NATIVE_V0 in levels:
                kind = ServerKind.LMSTUDIO
            elif isinstance(openai, dict) and "models" in openai:
                kind = ServerKind.LLAMACPP
            else:
                kind = ServerKind.OTHER
            version = None
            self._llamacpp_ctx = None
            if kind is ServerKind.LLAMACPP:
                # llama.cpp says its build and the loaded context only in /props.
                props = await self._probe("/props")
                if isinstance(props, dict):
                    build = props.get("build_info")
                    version = build if isinstance(build, str) and build else None
                    settings = props.get("default_generation_settings")
                    if isinstance(settings, dict):
                        self._llamacpp_ctx = opt_int(settings.get("n_ctx"))
            self._caps = Capabilities(kind=kind, levels=tuple(levels), version=version)
            return self._caps

    async def health(self) -> Health:
        """Probe the server: reachable or not, latency, kind and API levels."""
        started = time.monotonic()
        try:
            caps = await self.detect(refresh=True)
        except LmtuiError as exc:
            return Health(
                self.base_url, False, None, None, exc.message, exc.remedy, error_kind=exc.kind
            )
        latency = (time.monotonic() - started) * 1000.0
        return Health(self.base_url, True, latency, caps)

    async def parallel_slots(self) -> int | None:
        """How many replies the server generates at once, when it says; None otherwise.

        llama.cpp says ``total_slots`` in ``/props``; LM Studio may say ``parallel``
        (``lms load --parallel``) in a loaded instance's config on ``/api/v1/models``.
        """
        caps = await self.detect()
        found: list[int] = []
        if caps.kind is ServerKind.LLAMACPP:
            props = await self._probe("/props")
            if isinstance(props, dict):
                found.append(opt_int(props.get("total_slots")) or 0)
        v1 = self._raw_models.get(ApiLevel.NATIVE_V1)
        for entry in v1.get("models") or [] if isinstance(v1, dict) else []:
            instances = entry.get("loaded_instances") if isinstance(entry, dict) else None
            for inst in instances if isinstance(instances, list) else []:
                config = inst.get("config") if isinstance(inst, dict) else None
                if isinstance(config, dict):
                    for key in ("parallel", "max_parallel_predictions", "n_parallel"):
                        found.append(opt_int(config.get(key)) or 0)
        best = max(found, default=0)
        return best if best > 0 else None

    # ---- models -----------------------------------------------------------------

    async def list_models(self, *, refresh: bool = True) -> list[Model]:
        """Every model the server offers, from its richest API level."""
        if self._caps is None or refresh:
            caps = await self.detect(refresh=True)
        else:
            caps = self._caps
        for level in (ApiLevel.NATIVE_V1, ApiLevel.NATIVE_V0, ApiLevel.OPENAI):
            if caps.has(level):
                models = parse_models(level, self._raw_models[level], kind=caps.kind)
                if self._llamacpp_ctx:
                    ctx = self._llamacpp_ctx
                    models = [
                        replace(m, loaded_context_length=ctx) if m.loaded else m for m in models
                    ]
                return models
        return []

    async def listed_at(self, level: ApiLevel) -> list[Model] | None:
        """What one API level listed at the last detection; None when it is not offered.

        Comparing levels tells what LM Studio's settings hide: with JIT loading off,
        ``/api/v0`` and ``/v1`` list only the loaded models while ``/api/v1`` lists all.
        """
        caps = await self.detect()
        if not caps.has(level):
            return None
        return parse_models(level, self._raw_models[level], kind=caps.kind)

    async def load_model(
        self,
        model: str,
        options: LoadConfig | None = None,
        *,
        context_length: int | None = None,
        ttl: int | None = None,
        echo_config: bool = True,
    ) -> LoadResult:
        """Load a model with ``options`` (LM Studio ``/api/v1`` only).

        Only the options that are set are sent; with ``echo_config`` the server answers
        with the config it really applied, returned as ``LoadResult.config``.
        """
        await self._require(ApiLevel.NATIVE_V1, "Loading models")
        body: JSON = {"model": model, **(options or LoadConfig()).to_json()}
        if context_length:
            body["context_length"] = context_length
        if ttl:
            body["ttl"] = ttl
        if echo_config:
            body["echo_load_config"] = True
        data = await self._request("POST", "/api/v1/models/load", body, model=model, timeout=600)
        if not isinstance(data, dict):
            raise MalformedResponse("The load answer was not a JSON object.")
        lt = data.get("load_time_seconds")
        echoed = data.get("load_config")
        return LoadResult(
            model=model,
            instance_id=str(data.get("instance_id") or data.get("model_instance_id") or model),
            status=str(data.get("status") or "loaded"),
            load_time_s=float(lt) if isinstance(lt, int | float) else None,
            config=LoadConfig.from_json(echoed) if isinstance(echoed, dict) else None,
        )

    async def download_model(self, model: str, *, quantization: str | None = None) -> DownloadJob:
        """Start downloading a catalog id or Hugging Face URL (LM Studio 0.4 ``/api/v1``)."""
        await self._require(ApiLevel.NATIVE_V1, "Downloading models")
        body: JSON = {"model": model}
        if quantization:
            body["quantization"] = quantization
        data = await self._request("POST", "/api/v1/models/download", body, model=model)
        return parse_download(model, data)

    async def download_status(self, model: str, job_id: str) -> DownloadJob:
        """Where download ``job_id`` (of ``model``) stands now."""
        path = f"/api/v1/models/download/status/{quote(job_id, safe='')}"
        data = await self._request("GET", path)
        return parse_download(model, data, job_id=job_id)

    async def unload_model(self, instance_id: str) -> None:
        """Unload a loaded model instance (LM Studio ``/api/v1`` only)."""
        await self._require(ApiLevel.NATIVE_V1, "Unloading models")
        await self._request("POST", "/api/v1/models/unload", {"instance_id": instance_id})

    async def _require(self, level: ApiLevel, what: str) -> None:
        caps = await self.detect()
        if not caps.has(level):
            raise NotSupported(
                f"{what} needs LM Studio's /{level} API, which {self.base_url} does not offer.",
                "Use LM Studio 0.4 or newer, or `lms load` / `lms unload` on the server machine.",
            )

    # ---- chat ---------------------------------------------------------------------

    def stream_chat(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream a chat reply as typed events, ending with one :class:`Finish`.

        Errors the server reports (before or inside the stream) raise a typed
        error. A stream that stops without a finish reason ends with
        ``Finish(reason=INTERRUPTED)`` so the partial reply is kept.
        """
        # The generator itself is returned, not wrapped: one async layer less per delta.
        body = request.to_json(stream=True)
        return self._stream("/v1/chat/completions", body, request.model, completion=False)

    def stream_native_chat(self, request: NativeChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream one turn over LM Studio's ``/api/v1/chat`` (see :mod:`.native_chat`)."""
        from lmtui.backend.native_chat import stream_native_chat

        return stream_native_chat(self, request)

    def stream_complete(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream a raw prompt completion (``/v1/completions``)."""
        body = request.to_json(stream=True)
        return self._stream("/v1/completions", body, request.model, completion=True)

    async def chat(self, request: ChatRequest) -> ChatResult:
        """A whole chat reply without streaming."""
        started = time.monotonic()
        data = await self._request(
            "POST", "/v1/chat/completions", request.to_json(stream=False), model=request.model
        )
        return _result_from_json(data, started, completion=False)

    async def complete(self, request: CompletionRequest) -> ChatResult:
        """A whole raw completion without streaming."""
        started = time.monotonic()
        data = await self._request(
            "POST", "/v1/completions", request.to_json(stream=False), model=request.model
        )
        return _result_from_json(data, started, completion=True)

    async def embed(self, model: str, inputs: list[str]) -> Embedding:
        """Embed texts with an embedding model, vectors in input order."""
        data = await self._request(
            "POST", "/v1/embeddings", {"model": model, "input": inputs}, model=model
        )
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise MalformedResponse("The embeddings answer has no 'data' list.")
        rows = sorted(
            (r for r in data["data"] if isinstance(r, dict)),
            key=lambda r: r.get("index", 0) if isinstance(r.get("index"), int) else 0,
        )
        vectors: list[tuple[float, ...]] = []
        for row in rows:
            vec = row.get("embedding")
            if not isinstance(vec, list):
                raise MalformedResponse("An embedding in the answer is not a list of numbers.")
            vectors.append(tuple(float(x) for x in vec))
        if len(vectors) != len(inputs):
            raise MalformedResponse(f"Asked for {len(inputs)} embeddings, got {len(vectors)}.")
        used = data.get("model")
        return Embedding(
            model=used if isinstance(used, str) and used else model,
            vectors=tuple(vectors),
            usage=Usage.from_json(data.get("usage")),
        )

    async def _stream(
        self, path: str, body: JSON, model: str, *, completion: bool
    ) -> AsyncGenerator[StreamEvent, None]:
        started = time.monotonic()
        ex = Exchange("POST", path, body, time.time(), model_requested=model)
        assembler = StreamAssembler(completion=completion)
        first: float | None = None
        deltas = 0
        detail = ""
        reason: FinishReason | None = None
        try:
            async with self._http.stream("POST", path, json=body) as resp:
                ex.status = resp.status_code
                ctype = resp.headers.get("content-type", "")
                if resp.status_code >= 400 or "text/event-stream" not in ctype:
                    raw = await self._read_body(resp, path)
                    decoded = parse_body(raw) if raw else None
                    ex.response = decoded
                    if resp.status_code >= 400 or extract_error(decoded) is not None:
                        status = resp.status_code if resp.status_code >= 400 else None
                        raise self._classify(status, decoded, model=model)
                    if 300 <= resp.status_code < 400:
                        raise self._redirected(resp, path)
                    if isinstance(decoded, dict) and isinstance(decoded.get("choices"), list):
                        # The server ignored stream=true and sent a whole answer.
                        result = _result_from_json(decoded, started, completion=completion)
                        for event in _events_from_result(result):
                            yield event
                        return
                    if not raw:
                        raise StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY)
                    raise MalformedResponse(
                        f"The server answered {path} with {ctype or 'no content type'}, "
                        "not a stream."
                    )
                try:
                    async for sse in EventSource(resp).aiter_sse():
                        if sse.event == "error":
                            raise self._classify(None, parse_body(sse.data), model=model)
                        for event in assembler.feed(sse.data):
                            if isinstance(event, ContentDelta | ReasoningDelta):
                                deltas += 1
                                if first is None:
                                    first = time.monotonic()
                            yield event
                        if assembler.done:
                            break
                except httpx.ReadTimeout:
                    detail = f"no data from the server for {self.read_timeout:g} s"
                    reason = FinishReason.INTERRUPTED
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    detail = "the server closed the connection mid-reply"
                    reason = FinishReason.INTERRUPTED
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            err = self._unreachable(exc)
            self._finish_exchange(ex, started, error=err)
            raise err from None
        except httpx.TimeoutException as exc:
            err = self._unreachable(exc)
            self._finish_exchange(ex, started, error=err)
            raise err from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            err2 = StreamInterrupted("The server closed the connection before replying.")
            self._finish_exchange(ex, started, error=err2)
            raise err2 from None
        except LmtuiError as exc:
            self._finish_exchange(ex, started, error=exc)
            raise
        except (GeneratorExit, asyncio.CancelledError):
            # Stopped by the reader (Esc): still a request the inspector must list.
            ex.model_used = assembler.model
            ex.finish_reason = FinishReason.STOPPED.value
            ex.response = {"streamed": True, "chunks": assembler.chunks, "stopped": True}
            self._finish_exchange(ex, started, error=None)
            raise
        if reason is None and not (assembler.chunks or assembler.malformed or assembler.done):
            # A 200 event stream with an empty body: LM Studio's way of failing on overflow.
            err0 = StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY)
            self._finish_exchange(ex, started, error=err0)
            raise err0
        for event in assembler.flush():
            deltas += 1
            yield event
        if reason is None:
            if assembler.finish_reason is not None:
                reason = assembler.finish_reason
            else:
                reason = FinishReason.INTERRUPTED
                detail = (
                    "the stream ended without a finish reason"
                    if assembler.done
                    else "the stream ended before the server said it was done"
                )
        if assembler.chunks == 0 and assembler.malformed:
            err3 = MalformedResponse(
                f"The server's stream had {assembler.malformed} line(s) that are not JSON "
                "and nothing else."
            )
            self._finish_exchange(ex, started, error=err3)
            raise err3
        end = time.monotonic()
        tokens = assembler.usage.completion_tokens if assembler.usage else deltas
        tps = None
        if first is not None and end > first and tokens:
            tps = tokens / (end - first)
        timings = ClientTimings(
            time_to_first_token_s=None if first is None else first - started,
            total_s=end - started,
            delta_count=deltas,
            tokens_per_second=tps,
        )
        ex.model_used = assembler.model
        ex.finish_reason = reason.value
        ex.ttft_s = timings.time_to_first_token_s
        ex.tokens_per_second = tps
        ex.usage = assembler.usage
        ex.response = {
            "streamed": True,
            "chunks": assembler.chunks,
            "malformed": assembler.malformed,
        }
        self._finish_exchange(ex, started, error=None)
        yield Finish(reason, timings, detail=detail, malformed_lines=assembler.malformed)

    def _finish_exchange(self, ex: Exchange, started: float, *, error: LmtuiError | None) -> None:
        self._record(ex, started, error=error)


def _result_from_json(data: object, started: float, *, completion: bool) -> ChatResult:
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


def _events_from_result(result: ChatResult) -> list[StreamEvent]:
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
