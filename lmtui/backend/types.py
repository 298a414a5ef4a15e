"""Typed values exchanged with LM Studio and OpenAI-compatible servers.

Everything the rest of lmtui knows about a server passes through these types, so
the UI, the CLI and the services never see raw JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, Any]


class ModelType(StrEnum):
    """What kind of model an entry is."""

    LLM = "llm"
    VLM = "vlm"
    EMBEDDINGS = "embeddings"
    UNKNOWN = "unknown"


class ApiLevel(StrEnum):
    """The API families a server may offer, best first."""

    NATIVE_V1 = "api/v1"
    NATIVE_V0 = "api/v0"
    OPENAI = "v1"


class ServerKind(StrEnum):
    """Which server software answered."""

    LMSTUDIO = "lmstudio"
    LLAMACPP = "llama.cpp"
    OTHER = "other"


class FinishReason(StrEnum):
    """Why a reply ended.

    The first four come from the server; ``interrupted`` means the stream ended
    without the server saying why, ``stopped`` means the user stopped it, and
    ``error`` means the server reported an error part-way.
    """

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"
    ERROR = "error"

    @classmethod
    def parse(cls, value: object) -> FinishReason:
        """Map a server's finish_reason (or LM Studio stop_reason) to a member."""
        text = str(value or "").strip()
        aliases = {
            "eosFound": cls.STOP,
            "stopStringFound": cls.STOP,
            "maxPredictedTokensReached": cls.LENGTH,
            "contextLengthReached": cls.LENGTH,
            "userStopped": cls.STOPPED,
            "function_call": cls.TOOL_CALLS,
        }
        if text in aliases:
            return aliases[text]
        try:
            return cls(text)
        except ValueError:
            return cls.STOP if text else cls.INTERRUPTED


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """How a model instance is (or is to be) loaded; ``None`` fields were not said.

    The fields are LM Studio's ``/api/v1/models/load`` options; the last four apply to its
    llama.cpp engine only, and the server leaves them out where they do not apply.
    """

    context_length: int | None = None
    eval_batch_size: int | None = None
    flash_attention: bool | None = None
    num_experts: int | None = None
    offload_kv_cache_to_gpu: bool | None = None

    def to_json(self) -> JSON:
        """The fields that are set, in wire form."""
        return {
            name: getattr(self, name)
            for name in LOAD_CONFIG_FIELDS
            if getattr(self, name) is not None
        }

    @classmethod
    def from_json(cls, raw: object) -> LoadConfig:
        """Read a ``config`` / ``load_config`` object; wrong types are dropped, not raised."""
        if not isinstance(raw, dict):
            return cls()

        def flag(name: str) -> bool | None:
            value = raw.get(name)
            return value if isinstance(value, bool) else None

        return cls(
            context_length=opt_int(raw.get("context_length")),
            eval_batch_size=opt_int(raw.get("eval_batch_size")),
            flash_attention=flag("flash_attention"),
            num_experts=opt_int(raw.get("num_experts")),
            offload_kv_cache_to_gpu=flag("offload_kv_cache_to_gpu"),
        )

    @property
    def is_empty(self) -> bool:
        """True when no field is set."""
        return not self.to_json()


LOAD_CONFIG_FIELDS: tuple[str, ...] = (
    "context_length",
    "eval_batch_size",
    "flash_attention",
    "num_experts",
    "offload_kv_cache_to_gpu",
)


@dataclass(frozen=True, slots=True)
class ModelInstance:
    """One loaded (or loading) copy of a model, with the config it was loaded with."""

    id: str
    config: LoadConfig = field(default_factory=LoadConfig)
    loading: bool = False  # the server (or lmtui's own pending load) says it is not ready yet


@dataclass(frozen=True, slots=True)
class Model:
    """One model as the server describes it, merged across API levels."""

    id: str
    display_name: str = ""
    type: ModelType = ModelType.LLM
    loaded: bool | None = None  # None: the server did not say (plain /v1)
    quantization: str | None = None
    architecture: str | None = None
    max_context_length: int | None = None
    loaded_context_length: int | None = None
    size_bytes: int | None = None
    capabilities: tuple[str, ...] = ()
    publisher: str | None = None
    params: str | None = None
    instance_ids: tuple[str, ...] = ()
    instances: tuple[ModelInstance, ...] = ()  # every loaded instance, each with its config
    loading: bool = False  # the server says the model is being loaded

    @property
    def state(self) -> str:
        """``loading``, ``loaded``, ``not-loaded`` or ``unknown`` (the server does not say)."""
        if self.loading or any(i.loading for i in self.instances):
            return "loading"
        if self.loaded is None:
            return "unknown"
        return "loaded" if self.loaded else "not-loaded"

    # LM Studio 0.4's capabilities.reasoning: the settings the model takes, and its default.
    reasoning_options: tuple[str, ...] = ()
    reasoning_default: str | None = None

    @property
    def label(self) -> str:
        """A short name for display."""
        return self.display_name or self.id.rsplit("/", 1)[-1]

    @property
    def is_embedding(self) -> bool:
        """True for embedding models."""
        return self.type is ModelType.EMBEDDINGS

    @property
    def is_vision(self) -> bool:
        """True when the model accepts images."""
        return self.type is ModelType.VLM or "vision" in self.capabilities


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``images`` are data URLs sent as image content parts."""

    role: str
    content: str
    images: tuple[str, ...] = ()

    def to_json(self) -> JSON:
        """The OpenAI wire form of this message."""
        if not self.images:
            return {"role": self.role, "content": self.content}
        parts: list[JSON] = [{"type": "text", "text": self.content}]
        parts.extend({"type": "image_url", "image_url": {"url": url}} for url in self.images)
        return {"role": self.role, "content": parts}


def image_data_url(path: Path) -> str:
    """Read an image file into a base64 data URL for a vision model."""
    # Imported here: only image attachments need them, and `lmtui ask` starts faster.
    import base64
    import mimetypes

    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not mime.startswith("image/"):
        raise ValueError(f"{path} does not look like an image ({mime})")
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{payload}"


# Every sampling parameter lmtui knows, with the JSON type the server expects.
PARAMETER_NAMES: tuple[str, ...] = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "min_p",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "seed",
    "ttl",
    "response_format",
)


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Optional request parameters. ``None`` means "not sent": the server's default applies."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    stop: str | tuple[str, ...] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    ttl: int | None = None
    response_format: JSON | None = None

    def to_json(self) -> JSON:
        """Only the parameters that are set, in wire form."""
        body: JSON = {}
        for name in PARAMETER_NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            body[name] = list(value) if isinstance(value, tuple) else value
        return body

    def merged(self, other: SamplingParams) -> SamplingParams:
        """These parameters overridden by every value that ``other`` sets."""
        values = {n: getattr(self, n) for n in PARAMETER_NAMES}
        values.update(
            {n: getattr(other, n) for n in PARAMETER_NAMES if getattr(other, n) is not None}
        )
        return SamplingParams(**values)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SamplingParams:
        """Build from a plain mapping (TOML, JSON); unknown keys raise ValueError."""
        unknown = set(data) - set(PARAMETER_NAMES)
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if isinstance(values.get("stop"), list):
            values["stop"] = tuple(values["stop"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat completion request."""

    model: str
    messages: tuple[Message, ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    reasoning_effort: str | None = None  # low / medium / high, for servers that take it

    def to_json(self, *, stream: bool) -> JSON:
        """The request body for ``/v1/chat/completions``."""
        body: JSON = {
            "model": self.model,
            "messages": [m.to_json() for m in self.messages],
            **self.params.to_json(),
            "stream": stream,
        }
        if self.reasoning_effort:
            body["reasoning_effort"] = self.reasoning_effort
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """A raw prompt completion request for ``/v1/completions``."""

    model: str
    prompt: str
    params: SamplingParams = field(default_factory=SamplingParams)

    def to_json(self, *, stream: bool) -> JSON:
        """The request body for ``/v1/completions``."""
        body: JSON = {"model": self.model, "prompt": self.prompt, **self.params.to_json()}
        body["stream"] = stream
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported by the server."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_json(cls, data: object) -> Usage | None:
        """Parse a ``usage`` object; None when absent or not an object."""
        if not isinstance(data, dict):
            return None
        prompt = _as_int(data.get("prompt_tokens"))
        completion = _as_int(data.get("completion_tokens"))
        total = _as_int(data.get("total_tokens")) or prompt + completion
        return cls(prompt, completion, total)


@dataclass(frozen=True, slots=True)
class ServerTimings:
    """llama.cpp's ``timings`` object, or LM Studio's ``stats``."""

    prompt_tokens: int | None = None
    prompt_ms: float | None = None
    predicted_tokens: int | None = None
    predicted_ms: float | None = None
    tokens_per_second: float | None = None
    time_to_first_token_s: float | None = None

    @classmethod
    def from_llamacpp(cls, data: object) -> ServerTimings | None:
        """Parse llama.cpp's ``timings``."""
        if not isinstance(data, dict):
            return None
        return cls(
            prompt_tokens=opt_int(data.get("prompt_n")),
            prompt_ms=_opt_float(data.get("prompt_ms")),
            predicted_tokens=opt_int(data.get("predicted_n")),
            predicted_ms=_opt_float(data.get("predicted_ms")),
            tokens_per_second=_opt_float(data.get("predicted_per_second")),
        )

    @classmethod
    def from_lmstudio_stats(cls, data: object) -> ServerTimings | None:
        """Parse LM Studio's ``/api/v0`` ``stats``."""
        if not isinstance(data, dict):
            return None
        gen = _opt_float(data.get("generation_time"))
        return cls(
            predicted_ms=None if gen is None else gen * 1000.0,
            tokens_per_second=_opt_float(data.get("tokens_per_second")),
            time_to_first_token_s=_opt_float(data.get("time_to_first_token")),
        )


@dataclass(frozen=True, slots=True)
class ClientTimings:
    """What lmtui measured itself while reading a reply."""

    time_to_first_token_s: float | None
    total_s: float
    delta_count: int
    tokens_per_second: float | None


# ---- streaming events -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the visible answer; ``pieces``: the server's deltas it joins (see delta_merge)."""

    text: str
    pieces: int = 1


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (shown apart, collapsed); ``pieces`` as for content."""

    text: str
    pieces: int = 1


@dataclass(frozen=True, slots=True)
class ContentWasReasoning:
    """Every answer delta so far was reasoning (a template opened ``<think>`` itself)."""


@dataclass(frozen=True, slots=True)
class ModelUsed:
    """The model the server says produced the reply (may differ from the one asked for)."""

    model: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage, on whichever chunk the server sent it."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class TimingsReport:
    """Server-side timings (llama.cpp ``timings``)."""

    timings: ServerTimings


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of a reply: always the last event of a stream that did not raise."""

    reason: FinishReason
    timings: ClientTimings
    detail: str = ""  # e.g. why it was interrupted
    malformed_lines: int = 0


@dataclass(frozen=True, slots=True)
class ToolCallFragments:
    """A ``delta.tool_calls`` value as streamed; see :mod:`lmtui.backend.tool_calls`."""

    fragments: tuple[Any, ...]


StreamEvent: TypeAlias = (
    "ContentDelta | ReasoningDelta | ContentWasReasoning | ModelUsed | UsageReport | "
    "TimingsReport | Finish | NativeEvent | ToolCallFragments"
)


class ReplyFold:
    """How a reply is built from its stream: the one fold of events, and its two other endings.

    Shared by :class:`ChatResult` (workbench, batch, compare, ``chat()``) and the chat's
    ``Entry``, so a reply means the same wherever it is read. Subclasses are dataclasses
    holding the fields declared here.
    """

    content: str
    reasoning: str
    model_used: str | None
    finish_reason: FinishReason | None
    usage: Usage | None
    server_timings: ServerTimings | None
    client_timings: ClientTimings | None
    detail: str
    error: str | None
    extras: ReplyExtras  # route, load/prompt progress, tool calls, LM Studio's own stats

    def apply(self, event: StreamEvent) -> None:
        """Fold one stream event into this reply."""
        if isinstance(event, ContentDelta):
            self.content += event.text
        elif isinstance(event, ReasoningDelta):
            self.reasoning += event.text
        elif isinstance(event, ContentWasReasoning):
            self.reasoning, self.content = self.reasoning + self.content, ""
        elif isinstance(event, ModelUsed):
            self.model_used = event.model
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, TimingsReport):
            self.server_timings = event.timings
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
            self.client_timings = event.timings
            self.detail = event.detail
        else:
            self.extras.apply(event)

    def fail(self, message: str) -> None:
        """The stream raised part-way: what came is kept, the error says why.

        A reason the server already gave (``length`` before a continuation failed)
        is kept; otherwise the reply ends on ``error``.
        """
        self.error = message
        if self.finish_reason in (None, FinishReason.INTERRUPTED):
            self.finish_reason = FinishReason.ERROR

    def stop(self) -> None:
        """The reader stopped the stream (Esc, Ctrl+C, a cancelled task): the text is kept."""
        self.finish_reason = FinishReason.STOPPED


@dataclass(slots=True)
class ChatResult(ReplyFold):
    """A whole reply, streamed or not."""

    content: str = ""
    reasoning: str = ""
    model_used: str | None = None
    finish_reason: FinishReason = FinishReason.INTERRUPTED
    usage: Usage | None = None
    server_timings: ServerTimings | None = None
    client_timings: ClientTimings | None = None
    detail: str = ""
    error: str | None = None
    extras: ReplyExtras = field(default_factory=lambda: ReplyExtras())

    @property
    def model(self) -> str | None:
        """The model the server says answered (the same as ``model_used``)."""
        return self.model_used


@dataclass(frozen=True, slots=True)
class Embedding:
    """Embeddings for a list of inputs, in input order."""

    model: str
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage | None = None

    @property
    def dimensions(self) -> int:
        """Length of each vector."""
        return len(self.vectors[0]) if self.vectors else 0


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The answer to a model load."""

    model: str
    instance_id: str
    status: str
    load_time_s: float | None = None
    config: LoadConfig | None = None  # what the server applied (``echo_load_config``)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a server offers, found once by probing and then remembered."""

    kind: ServerKind
    levels: tuple[ApiLevel, ...]
    version: str | None = None

    def has(self, level: ApiLevel) -> bool:
        """True when the server answered at that API level."""
        return level in self.levels


@dataclass(frozen=True, slots=True)
class Health:
    """One health probe."""

    base_url: str
    reachable: bool
    latency_ms: float | None
    capabilities: Capabilities | None = None
    error: str | None = None
    remedy: str | None = None
    error_kind: str | None = None  # the ``kind`` of the LmtuiError that made it unreachable


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def opt_int(value: object) -> int | None:
    """An int from a JSON number (floats truncated), None for anything else or a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None


def _opt_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


# ---- LM Studio's native /api/v1/chat: tool calls, progress, stats, response ids ----------


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of a reply: from an LM Studio integration (MCP) or the model's own call.

    ``provider`` says who ran it: ``mcp/<label>`` for an mcp.json plugin, the server label
    of an ephemeral MCP server, or ``model`` for a custom tool call the client must answer.
    Exactly one of ``output`` / ``failure`` is set once the call has ended.
    """

    id: str
    name: str
    arguments: str = ""  # the arguments as the model wrote them (JSON text, usually)
    provider: str = ""
    output: str | None = None
    failure: str | None = None

    @property
    def ended(self) -> bool:
        """True once the call succeeded or failed."""
        return self.output is not None or self.failure is not None

    def to_json(self) -> JSON:
        """The storage and export form."""
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "provider": self.provider,
            "output": self.output,
            "failure": self.failure,
        }

    @classmethod
    def from_json(cls, data: object) -> ToolCall:
        """Parse the storage/export form; raises ValueError on a wrong shape."""
        if not isinstance(data, dict):
            raise ValueError("a tool call must be an object")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError('a tool call needs a "name" string')
        values: dict[str, str | None] = {}
        for key in ("id", "arguments", "provider", "output", "failure"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f'a tool call\'s "{key}" must be a string')
            values[key] = value
        return cls(
            id=values["id"] or "",
            name=name,
            arguments=values["arguments"] or "",
            provider=values["provider"] or "",
            output=values["output"],
            failure=values["failure"],
        )


@dataclass(frozen=True, slots=True)
class NativeStats:
    """LM Studio's own figures from ``chat.end`` (``None``: not sent, or known to be zero)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_per_second: float | None = None
    time_to_first_token_s: float | None = None
    model_load_time_s: float | None = None

    @classmethod
    def from_json(cls, data: object) -> NativeStats | None:
        """Parse ``result.stats``; zero counts become None (LM Studio sends 0 for unknown)."""
        if not isinstance(data, dict):
            return None

        def count(key: str) -> int | None:
            value = opt_int(data.get(key))
            return value if value else None

        def seconds(key: str) -> float | None:
            value = _opt_float(data.get(key))
            return value if value else None

        return cls(
            input_tokens=count("input_tokens"),
            output_tokens=count("total_output_tokens"),
            reasoning_tokens=count("reasoning_output_tokens"),
            tokens_per_second=seconds("tokens_per_second"),
            time_to_first_token_s=seconds("time_to_first_token_seconds"),
            model_load_time_s=seconds("model_load_time_seconds"),
        )


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """The model is being loaded for this reply (JIT). ``progress`` runs 0..1."""

    progress: float
    done: bool = False
    load_time_s: float | None = None  # on the last event, as the server measured it


@dataclass(frozen=True, slots=True)
class PromptProgress:
    """The server is processing the prompt. ``progress`` runs 0..1."""

    progress: float
    done: bool = False


@dataclass(frozen=True, slots=True)
class ServerLoading:
    """The server answered that it is still loading its model (llama.cpp's 503).

    The request goes again after ``retry_in_s``; ``waited_s`` is the wait so far. The
    last one has ``done`` set: the server answered at last (see services/load_wait.py).
    """

    retry_in_s: float
    waited_s: float
    done: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A tool call started or changed; the latest record for ``call.id`` replaces earlier ones."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class ServerStatsReport:
    """LM Studio's own stats for the reply (``chat.end``)."""

    stats: NativeStats


@dataclass(frozen=True, slots=True)
class ResponseIdReport:
    """The id the server keeps this reply under, to chain the next turn from."""

    response_id: str


@dataclass(frozen=True, slots=True)
class RouteReport:
    """Which transport carried the reply and why (first event of a routed reply)."""

    native: bool
    reason: str


NativeEvent: TypeAlias = (
    LoadProgress
    | PromptProgress
    | ServerLoading
    | ToolCallEvent
    | ServerStatsReport
    | ResponseIdReport
    | RouteReport
)


@dataclass(slots=True)
class ReplyExtras:
    """Route, progress, tool calls and server figures of one reply, folded from events."""

    native: bool | None = None  # None: not routed (an old or imported reply)
    route_reason: str = ""
    response_id: str | None = None
    load_progress: float | None = None  # 0..1 while loading, None when no load happened
    load_seconds: float | None = None
    prompt_progress: float | None = None
    prompt_seconds: float | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    server_stats: NativeStats | None = None
    loading: bool = False
    #: While the server says it is loading its model: the latest such answer, else None.
    server_wait: ServerLoading | None = None
    load_started: float | None = None
    prompt_started: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def apply(self, event: StreamEvent) -> bool:
        """Fold one event; False when it is not one of these."""
        if isinstance(event, RouteReport):
            self.native = event.native
            self.route_reason = event.reason
        elif isinstance(event, LoadProgress):
            self._load(event)
        elif isinstance(event, ServerLoading):
            self.server_wait = None if event.done else event
        elif isinstance(event, PromptProgress):
            if self.prompt_started is None:
                self.prompt_started = self.clock()
            self.prompt_progress = event.progress
            if event.done:
                self.prompt_seconds = self.clock() - self.prompt_started
        elif isinstance(event, ToolCallEvent):
            for i, call in enumerate(self.tool_calls):
                if call.id == event.call.id:
                    self.tool_calls[i] = event.call
                    break
            else:
                self.tool_calls.append(event.call)
        elif isinstance(event, ServerStatsReport):
            self.server_stats = event.stats
            if self.load_seconds is None and event.stats.model_load_time_s is not None:
                self.load_seconds = event.stats.model_load_time_s
        elif isinstance(event, ResponseIdReport):
            self.response_id = event.response_id
        else:
            return False
        return True

    def _load(self, event: LoadProgress) -> None:
        if self.load_started is None:
            self.load_started = self.clock()
        self.loading = not event.done
        self.load_progress = event.progress
        if event.done:
            measured = self.clock() - self.load_started
            self.load_seconds = event.load_time_s if event.load_time_s is not None else measured

    def load_elapsed(self) -> float:
        """Seconds since the load started (0 before)."""
        return 0.0 if self.load_started is None else self.clock() - self.load_started

    @property
    def route(self) -> str | None:
        """``native: why`` or ``openai: why`` (None when the reply was not routed)."""
        if self.native is None:
            return None
        return f"{'native' if self.native else 'openai'}: {self.route_reason}"
