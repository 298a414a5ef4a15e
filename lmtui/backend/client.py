"""The async client for LM Studio and OpenAI-compatible servers.

One ``LMStudioClient`` per server. It probes which API levels the server offers
(``/api/v1``, ``/api/v0``, ``/v1``) once, remembers the answer, and maps every
failure to a typed error from :mod:`lmtui.backend.errors`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from lmtui.backend.client_core import (
    EMPTY_REPLY,
    EMPTY_REPLY_REMEDY,
    MAX_BODY_BYTES,
    MAX_ERROR_BODY_BYTES,
    PROBE_PATHS,
    BodyLimit,
    ClientCore,
    Exchange,
    ExchangeHook,
)
from lmtui.backend.downloads import DownloadJob, parse_download
from lmtui.backend.errors import (
    LmtuiError,
    MalformedResponse,
    NotSupported,
    extract_error,
    parse_body,
)
from lmtui.backend.models import parse_models
from lmtui.backend.stream_call import ChatStreamCall, StreamCall, result_from_json
from lmtui.backend.types import (
    JSON,
    ApiLevel,
    Capabilities,
    ChatRequest,
    ChatResult,
    CompletionRequest,
    Embedding,
    Health,
    LoadConfig,
    LoadResult,
    Model,
    ServerKind,
    StreamEvent,
    Usage,
    opt_int,
)
from lmtui.backend.urls import normalize_base_url

if TYPE_CHECKING:
    from lmtui.backend.aio_stream import AioStreams
    from lmtui.backend.native_chat import NativeChatRequest

__all__ = [
    "EMPTY_REPLY",
    "EMPTY_REPLY_REMEDY",
    "MAX_BODY_BYTES",
    "MAX_ERROR_BODY_BYTES",
    "Exchange",
    "ExchangeHook",
    "LMStudioClient",
    "normalize_base_url",
]


class LMStudioClient(ClientCore):
    """Async client for one server. Use as an async context manager."""

    def _connect(self) -> None:
        self._http = httpx.AsyncClient(**self._http_options)
        self._caps_lock = asyncio.Lock()
        # The streamed POSTs go over aiohttp (:mod:`.aio_stream`), imported on the first.
        self._streams: AioStreams | None = None

    async def __aenter__(self) -> LMStudioClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close all connections."""
        await self._http.aclose()
        if self._streams is not None:
            await self._streams.close()

    # ---- low-level ------------------------------------------------------------

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
        except (httpx.HTTPError, LmtuiError) as exc:  # LmtuiError: the body passed its bound
            err = self._transport_error(exc)
            self._record(ex, started, error=err)
            raise err from None
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
            err5 = self._redirected(resp.status_code, resp.headers, path)
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

    async def _probe(self, path: str) -> object | None:
        """GET a path, returning its JSON or None when the server lacks it."""
        try:
            async with self._http.stream("GET", path) as resp:
                raw = await self._read_body(resp, path)
        except (httpx.HTTPError, LmtuiError) as exc:
            raise self._transport_error(exc) from None
        return self._probe_answer(resp, path, raw)

    async def _read_body(self, resp: httpx.Response, path: str) -> bytes:
        """The body of ``resp``, or :class:`MalformedResponse` once it passes the bound."""
        bound = BodyLimit(self, resp.status_code, resp.headers, path)
        chunks: list[bytes] = []
        async for chunk in resp.aiter_bytes():
            bound.add(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    # ---- capabilities -----------------------------------------------------------

    async def detect(self, *, refresh: bool = False) -> Capabilities:
        """Find which API levels the server offers; remembered after the first call."""
        async with self._caps_lock:
            if self._caps is not None and not refresh:
                return self._caps
            v1, v0, openai = await asyncio.gather(*(self._probe(p) for p in PROBE_PATHS))
            caps = self._levels_from(v1, v0, openai)
            if caps.kind is ServerKind.LLAMACPP:
                # llama.cpp says its build and the loaded context only in /props.
                caps = self._with_props(caps, await self._probe("/props"))
            self._caps = caps
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
        return self._models_listed(caps)

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
        from lmtui.backend.native_chat import native_stream_call

        return self._run(native_stream_call(self, request))

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
        return result_from_json(data, started, completion=False)

    async def complete(self, request: CompletionRequest) -> ChatResult:
        """A whole raw completion without streaming."""
        started = time.monotonic()
        data = await self._request(
            "POST", "/v1/completions", request.to_json(stream=False), model=request.model
        )
        return result_from_json(data, started, completion=True)

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

    def _stream(
        self, path: str, body: JSON, model: str, *, completion: bool
    ) -> AsyncGenerator[StreamEvent, None]:
        call = ChatStreamCall(self, path, body, model, completion=completion)
        return self._run(call)

    async def _run(self, call: StreamCall) -> AsyncGenerator[StreamEvent, None]:
        """Drive ``call`` over aiohttp (the sync twin, on httpx: ``SyncClient._run``).

        The transport raises httpx's exceptions (:func:`.aio_stream.httpx_error`), so
        failures mean here what they mean on every other request.
        """
        try:
            async with self._stream_transport().post(call.path, call.body) as answer:
                if not call.opened(answer.status, answer.headers):
                    body = await answer.body(call.path)
                    for event in call.whole(answer.status, answer.headers, body):
                        yield event
                else:
                    try:
                        async for read in answer:  # the SSE events one read completed
                            events, error = call.feed_read(read)
                            for event in events:
                                yield event
                            if error is not None:
                                raise error
                            if call.done:
                                break
                    except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                        call.cut(exc)
        except (GeneratorExit, asyncio.CancelledError):
            call.stopped()
            raise
        except (httpx.HTTPError, LmtuiError) as exc:
            raise call.failed(exc) from None
        for event in call.end():
            yield event

    def _event_loads(self) -> Callable[[str], object]:
        """orjson, json's answer kept for what it refuses (``fast_json``)."""
        from lmtui.backend.fast_json import stream_loads

        return stream_loads()

    def _stream_transport(self) -> AioStreams:
        if self._streams is None:
            from lmtui.backend.aio_stream import AioStreams  # ~130 ms: off the start path

            self._streams = AioStreams(self, self._connect_timeout)
        return self._streams
