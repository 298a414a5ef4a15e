"""What the async and the sync client share: connection settings and the error mapping.

:class:`ClientCore` holds no connection and does no I/O. :class:`~.client.LMStudioClient`
(async, for the TUI and most commands) and :class:`~.sync_client.SyncClient` (the lean
path of ``lmtui ask``) subclass it, so both build the same HTTP client options, turn
transport failures, HTTP statuses and redirects into the same typed errors, keep tokens
out of every message and log, and read what the server listed the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, Self

import httpx

from lmtui.backend.errors import (
    LmtuiError,
    MalformedResponse,
    ModelLoading,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
    classify_error,
    parse_body,
    redact_value,
)
from lmtui.backend.models import parse_models
from lmtui.backend.types import (
    JSON,
    ApiLevel,
    Capabilities,
    Model,
    ServerKind,
    Usage,
    opt_int,
)
from lmtui.backend.urls import DEFAULT_BASE_URL, display_url, normalize_base_url, split_userinfo

# Bounds on what lmtui reads from one answer: a hostile or broken server cannot make
# it hold a 400 MB page in memory. Streams are read event by event and not bounded here.
MAX_BODY_BYTES = 64 * 1_048_576
MAX_ERROR_BODY_BYTES = 1_048_576

EMPTY_REPLY = "The server closed the reply without sending anything."
EMPTY_REPLY_REMEDY = (
    "This often means the prompt did not fit the model's context: "
    "shorten it or reload the model with a larger context, then retry."
)

# The paths :meth:`ClientCore.capabilities_from` reads, in the order it takes them.
PROBE_PATHS = ("/api/v1/models", "/api/v0/models", "/v1/models")


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


class BodyLimit:
    """Counts a body's bytes as they come; :class:`MalformedResponse` past the bound."""

    __slots__ = ("core", "limit", "path", "size")

    def __init__(
        self, core: ClientCore, status: int, headers: Mapping[str, str], path: str
    ) -> None:
        self.core = core
        self.path = path
        self.limit = MAX_BODY_BYTES if status < 300 else MAX_ERROR_BODY_BYTES
        self.size = 0
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise core._too_large(path, self.limit)

    def add(self, chunk: bytes) -> None:
        """Count ``chunk``; raise once the body passes the bound."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise self.core._too_large(self.path, self.limit)


class ConnectionSettings(Protocol):
    """Where a server is and how to reach it (a ``ServerProfile``)."""

    @property
    def base_url(self) -> str: ...
    @property
    def token(self) -> str | None: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...


class ClientCore:
    """One server's address, credentials and timeouts, and the rules both clients share."""

    @classmethod
    def from_settings(
        cls, settings: ConnectionSettings, *, on_exchange: ExchangeHook | None = None
    ) -> Self:
        """A client for the server ``settings`` describe."""
        return cls(
            settings.base_url,
            settings.token,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            on_exchange=on_exchange,
        )

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
        self._connect_timeout = connect_timeout
        self._token = token or None
        self._secrets = tuple(s for s in (self._token, userinfo and userinfo[1]) if s)
        self._userinfo = userinfo  # Basic auth for the transports that are not httpx
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        #: Keyword arguments for ``httpx.Client`` or ``httpx.AsyncClient``.
        self._http_options: dict[str, Any] = {
            "base_url": self.base_url,
            "auth": httpx.BasicAuth(*userinfo) if userinfo else None,
            "headers": headers,
            # Building the TLS context costs ~20 ms at start-up; a plain-HTTP base URL never
            # uses it (redirects are not followed), so skip it there.
            "verify": not self.base_url.startswith("http://"),
            "timeout": httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            "limits": httpx.Limits(max_connections=16, max_keepalive_connections=8),
        }
        self._caps: Capabilities | None = None
        self._raw_models: dict[ApiLevel, object] = {}
        self._llamacpp_ctx: int | None = None
        self.on_exchange = on_exchange
        self._connect()

    def _connect(self) -> None:
        """Make the HTTP client (``httpx.Client`` or ``httpx.AsyncClient``)."""
        raise NotImplementedError

    def _event_loads(self) -> Callable[[str], object]:
        """How a stream's events are decoded: ``json.loads`` here.

        The async client reads with orjson (``fast_json``); ``lmtui ask``'s sync client
        keeps json: importing orjson (~9 ms) costs it more than it saves on one reply.
        """
        return json.loads

    @property
    def capabilities(self) -> Capabilities | None:
        """What ``detect()`` found, if it has run."""
        return self._caps

    # ---- errors ---------------------------------------------------------------

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

    def _transport_error(self, exc: Exception, *, streaming: bool = False) -> LmtuiError:
        """The typed error for an exception raised while sending a request.

        ``streaming``: a connection closed before the answer began is a cut reply.
        """
        if isinstance(exc, LmtuiError):
            return exc
        if isinstance(exc, httpx.TimeoutException | httpx.ConnectError):
            return self._unreachable(exc)
        if streaming and isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return StreamInterrupted("The server closed the connection before replying.")
        return MalformedResponse(f"The connection to {self.base_url} failed: {exc}.")

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

    def _redirected(self, status: int, headers: Mapping[str, str], path: str) -> ServerError:
        where = display_url(headers.get("location", "")) or "an address it did not give"
        return ServerError(
            f"The server redirected {path} to {where} (HTTP {status}); "
            "lmtui does not follow redirects.",
            "If that is where the server lives, use it as --base-url (or base_url in config.toml).",
            status=status,
        )

    # ---- what the server offers -------------------------------------------------

    def _probe_answer(self, resp: httpx.Response, path: str, raw: bytes) -> object | None:
        """What a probe of ``path`` found: its JSON, or None when the server lacks it."""
        if resp.status_code in (401, 403):
            raise self._classify(resp.status_code, parse_body(raw))
        if 300 <= resp.status_code < 400:
            raise self._redirected(resp.status_code, resp.headers, path)
        if resp.status_code == 503:
            # llama.cpp answers every path with 503 "Loading model" while it loads.
            err = self._classify(resp.status_code, parse_body(raw))
            if isinstance(err, ModelLoading):
                raise err
        if resp.status_code != 200:
            return None
        data = parse_body(raw)
        return data if isinstance(data, dict | list) else None

    def _levels_from(self, v1: object, v0: object, openai: object) -> Capabilities:
        """The API levels and server kind the three model listings show (no /props yet)."""
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
                f"{self.base_url} answered, but not as an OpenAI-compatible server (no /v1/models)."
            )
        if ApiLevel.NATIVE_V1 in levels or ApiLevel.NATIVE_V0 in levels:
            kind = ServerKind.LMSTUDIO
        elif isinstance(openai, dict) and "models" in openai:
            kind = ServerKind.LLAMACPP
        else:
            kind = ServerKind.OTHER
        self._llamacpp_ctx = None
        return Capabilities(kind=kind, levels=tuple(levels))

    def _with_props(self, caps: Capabilities, props: object) -> Capabilities:
        """``caps`` with llama.cpp's build, and its loaded context remembered, from /props."""
        version = None
        if isinstance(props, dict):
            build = props.get("build_info")
            version = build if isinstance(build, str) and build else None
            settings = props.get("default_generation_settings")
            if isinstance(settings, dict):
                self._llamacpp_ctx = opt_int(settings.get("n_ctx"))
        return replace(caps, version=version)

    def _models_listed(self, caps: Capabilities) -> list[Model]:
        """Every model the server offers, from its richest API level, as last detected."""
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
