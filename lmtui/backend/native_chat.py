"""LM Studio 0.4's native chat: ``POST /api/v1/chat`` with ``stream: true``.

The endpoint takes one new input plus ``previous_response_id`` (LM Studio keeps the
conversation) and streams named SSE events. They are turned into the same typed
events the OpenAI-compatible path yields (:class:`ContentDelta`, :class:`ReasoningDelta`,
:class:`ModelUsed`, :class:`UsageReport`, one final :class:`Finish`) plus the ones only
this endpoint can tell: load and prompt-processing progress, tool calls, the server's
stats and the reply's ``response_id``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from lmtui.backend.assembly import ThinkSplitter
from lmtui.backend.errors import (
    LmtuiError,
    ServerError,
    classify_error,
    extract_error,
)
from lmtui.backend.types import (
    JSON,
    LoadProgress,
    ModelUsed,
    NativeStats,
    PromptProgress,
    ReasoningDelta,
    ResponseIdReport,
    SamplingParams,
    ServerStatsReport,
    StreamEvent,
    ToolCall,
    ToolCallEvent,
    Usage,
    UsageReport,
)

if TYPE_CHECKING:
    from lmtui.backend.client_core import ClientCore
    from lmtui.backend.stream_call import NativeStreamCall

PATH = "/api/v1/chat"
REASONING_CHOICES = ("off", "low", "medium", "high", "on")
Reasoning = Literal["off", "low", "medium", "high", "on"]
MASK = "••••••"

# Sampling parameters /api/v1/chat takes, by lmtui's name -> the endpoint's name.
NATIVE_PARAMS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
    "max_tokens": "max_output_tokens",
}
# What only the OpenAI-compatible endpoint takes: a request using any of these goes there.
OPENAI_ONLY_PARAMS = (
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
    "ttl",
)


class UnknownResponseId(LmtuiError):
    """LM Studio does not know the ``previous_response_id`` (restarted, another server)."""

    exit_code = 10
    kind = "unknown_response_id"
    default_remedy = "lmtui resends the whole conversation on the OpenAI-compatible path."


class NativeChatMissing(LmtuiError):
    """The server lists /api/v1 models but has no /api/v1/chat (an older 0.4 build, a proxy)."""

    exit_code = 10
    kind = "native_chat_missing"
    default_remedy = "lmtui uses the OpenAI-compatible path with this server."


class IntegrationRefused(LmtuiError):
    """LM Studio refused the MCP integrations of a request."""

    exit_code = 10
    kind = "integration_refused"
    default_remedy = (
        'In LM Studio, Developer → Server Settings: turn on "Allow per-request MCPs" (for '
        'ephemeral servers) or "Allow calling servers from mcp.json" (for mcp/<label> '
        "plugins), or remove the integration from the preset or chat."
    )


class IntegrationFailed(LmtuiError):
    """LM Studio could not reach or start an MCP server of the request."""

    exit_code = 10
    kind = "integration_failed"
    default_remedy = (
        "Check the MCP server: its URL and headers in [integrations.NAME] for an ephemeral "
        "server, or that it starts from LM Studio's mcp.json for an mcp/<label> plugin."
    )


class ReasoningRefused(LmtuiError):
    """The model does not take the reasoning setting asked for."""

    exit_code = 10
    kind = "reasoning_refused"
    default_remedy = "Pick a reasoning setting the model allows (see the sidebar), or `auto`."


@dataclass(frozen=True, slots=True)
class Integration:
    """An LM Studio integration for one request: an mcp.json plugin or an ephemeral server.

    ``headers`` are secrets like the API token: they go on the wire and nowhere else
    (:meth:`masked_json` is what the inspector, logs and history see).
    """

    plugin_id: str | None = None  # "mcp/<label>" from LM Studio's mcp.json
    server_label: str | None = None  # an ephemeral MCP server
    server_url: str | None = None
    allowed_tools: tuple[str, ...] = ()
    # repr=False: a config or a session printed in a log must not show a header's value.
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False, repr=False)

    def to_json(self, *, masked: bool = False) -> str | JSON:
        """The wire form; ``masked`` blanks every header value."""
        if self.plugin_id is not None:
            if not self.allowed_tools:
                return self.plugin_id
            return {
                "type": "plugin",
                "id": self.plugin_id,
                "allowed_tools": list(self.allowed_tools),
            }
        body: JSON = {
            "type": "ephemeral_mcp",
            "server_label": self.server_label or "",
            "server_url": self.server_url or "",
        }
        if self.allowed_tools:
            body["allowed_tools"] = list(self.allowed_tools)
        if self.headers:
            body["headers"] = {k: MASK if masked else v for k, v in self.headers.items()}
        return body

    @property
    def label(self) -> str:
        """How the transcript names this provider."""
        return self.plugin_id or self.server_label or "mcp"


@dataclass(frozen=True, slots=True)
class NativeChatRequest:
    """One turn for ``/api/v1/chat``: a new input, chained to a previous response."""

    model: str
    input: str
    images: tuple[str, ...] = ()
    system_prompt: str = ""
    previous_response_id: str | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    reasoning: Reasoning | None = None
    context_length: int | None = None
    integrations: tuple[Integration, ...] = ()
    store: bool = True

    def to_json(self, *, stream: bool = True, masked: bool = False) -> JSON:
        """The request body; ``masked`` hides integration headers (inspector, logs)."""
        if self.images:
            items: list[JSON] = [{"type": "message", "content": self.input}]
            items.extend({"type": "image", "data_url": url} for url in self.images)
            body: JSON = {"model": self.model, "input": items}
        else:
            body = {"model": self.model, "input": self.input}
        if self.system_prompt:
            body["system_prompt"] = self.system_prompt
        wire = self.params.to_json()
        for ours, theirs in NATIVE_PARAMS.items():
            if ours in wire and not (ours == "max_tokens" and wire[ours] == -1):
                body[theirs] = wire[ours]
        if self.reasoning is not None:
            body["reasoning"] = self.reasoning
        if self.context_length:
            body["context_length"] = self.context_length
        if self.integrations:
            body["integrations"] = [i.to_json(masked=masked) for i in self.integrations]
        if not self.store:
            body["store"] = False
        if self.previous_response_id:
            body["previous_response_id"] = self.previous_response_id
        body["stream"] = stream
        return body


def openai_only_params(params: SamplingParams) -> list[str]:
    """The parameters set in ``params`` that ``/api/v1/chat`` cannot take."""
    return [name for name in OPENAI_ONLY_PARAMS if getattr(params, name) is not None]


# ---- errors ---------------------------------------------------------------------

_UNKNOWN_ID = re.compile(
    r"previous_response_not_found|history node .*not found|response .*not found|"
    r"unknown (?:previous )?response",
    re.I,
)
_INTEGRATION = re.compile(r"\bmcp\b|plugin|integration", re.I)
_REFUSED = re.compile(r"not (?:allowed|enabled|permitted)|disabled|permission|allow", re.I)


def classify_native_error(status: int | None, body: object, *, model: str | None) -> LmtuiError:
    """A typed error for what ``/api/v1/chat`` reported (HTTP error or ``error`` event)."""
    found = extract_error(body)
    message, obj = found if found is not None else ("", {})
    hay = f"{message} {obj.get('code') or ''} {obj.get('param') or ''}"
    etype = str(obj.get("type") or "")
    if "unexpected endpoint" in message.lower() or (status == 404 and not message):
        return NativeChatMissing(
            "The server has no /api/v1/chat.", status=status, server_message=message or None
        )
    if _UNKNOWN_ID.search(hay) or (
        obj.get("param") == "previous_response_id" and "not found" in hay.lower()
    ):
        return UnknownResponseId(
            "LM Studio does not know the previous response of this conversation.",
            status=status,
            server_message=message,
        )
    if _INTEGRATION.search(hay) and _REFUSED.search(hay):
        return IntegrationRefused(
            f"LM Studio refused the MCP integration: {message or etype}.",
            status=status,
            server_message=message,
        )
    if etype in ("mcp_connection_error", "plugin_connection_error"):
        return IntegrationFailed(
            f"LM Studio could not use the MCP server: {message or etype}.",
            status=status,
            server_message=message,
        )
    if obj.get("param") == "reasoning" or re.search(r"reasoning (?:setting|option)", message, re.I):
        return ReasoningRefused(
            f"The model does not take this reasoning setting: {message}.",
            status=status,
            server_message=message,
        )
    return classify_error(status, body, model=model)


# ---- events -----------------------------------------------------------------------


def provider_label(info: object) -> str:
    """``mcp/<label>`` for a plugin, the server label for an ephemeral MCP server."""
    if not isinstance(info, dict):
        return ""
    if info.get("type") == "plugin":
        return str(info.get("plugin_id") or info.get("id") or "plugin")
    return str(info.get("server_label") or info.get("type") or "")


def _arguments_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class NativeAssembler:
    """Named ``/api/v1/chat`` events in, typed events out (pure: no I/O)."""

    def __init__(self, loads: Callable[[str], object] = json.loads) -> None:
        """``loads``: how each event's JSON is read (the async client's is orjson's)."""
        self._think = ThinkSplitter()
        self._calls: list[ToolCall] = []
        self._open_call: int | None = None
        self.model: str | None = None
        self.ended = False
        self.error: LmtuiError | None = None
        self.events_seen = 0
        self.malformed = 0
        self.usage: Usage | None = None
        self.saw_text = False
        self._loads = loads

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """Every tool call so far, in order."""
        return tuple(self._calls)

    def feed(self, event: str, data: str, *, model: str | None = None) -> list[StreamEvent]:
        """Process one SSE event (its name and data)."""
        try:
            obj = self._loads(data) if data else {}
        except (ValueError, RecursionError):
            self.malformed += 1
            return []
        if not isinstance(obj, dict):
            self.malformed += 1
            return []
        self.events_seen += 1
        kind = event or str(obj.get("type") or "")
        out: list[StreamEvent] = []
        if kind == "chat.start":
            self._model(obj.get("model_instance_id"), out)
        elif kind.startswith("model_load."):
            self._load(kind, obj, out)
        elif kind.startswith("prompt_processing."):
            phase = kind.split(".", 1)[1]
            done = phase == "end"
            progress = 1.0 if done else 0.0 if phase == "start" else _fraction(obj)
            out.append(PromptProgress(progress, done=done))
        elif kind == "reasoning.delta":
            text = obj.get("content")
            if isinstance(text, str) and text:
                self.saw_text = True
                out.append(ReasoningDelta(text))
        elif kind == "message.delta":
            text = obj.get("content")
            if isinstance(text, str) and text:
                self.saw_text = True
                out.extend(self._think.feed(text))
        elif kind.startswith("tool_call."):
            self._tool(kind, obj, out)
        elif kind == "error":
            # LM Studio still sends chat.end with what was generated; raise after it.
            self.error = classify_native_error(None, obj, model=model)
        elif kind == "chat.end":
            self.ended = True
            result = obj.get("result")
            out.extend(self.result_events(result if isinstance(result, dict) else {}))
        return out

    def _model(self, value: object, out: list[StreamEvent]) -> None:
        if isinstance(value, str) and value and value != self.model:
            self.model = value
            out.append(ModelUsed(value))

    def _load(self, kind: str, obj: JSON, out: list[StreamEvent]) -> None:
        phase = kind.split(".", 1)[1]
        if phase == "start":
            out.append(LoadProgress(0.0))
        elif phase == "progress":
            out.append(LoadProgress(_fraction(obj)))
        elif phase == "end":
            seconds = obj.get("load_time_seconds")
            load_s = float(seconds) if isinstance(seconds, int | float) else None
            out.append(LoadProgress(1.0, done=True, load_time_s=load_s))

    def _tool(self, kind: str, obj: JSON, out: list[StreamEvent]) -> None:
        phase = kind.split(".", 1)[1]
        if phase == "start" or (self._open_call is None and phase != "failure"):
            call = ToolCall(
                id=f"call_{len(self._calls) + 1}",
                name=str(obj.get("tool") or "tool"),
                provider=provider_label(obj.get("provider_info")),
            )
            self._calls.append(call)
            self._open_call = len(self._calls) - 1
            if phase == "start":
                out.append(ToolCallEvent(call))
                return
        if phase == "failure":
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            reason = str(obj.get("reason") or "the tool call failed")
            if self._open_call is None:
                # An invalid tool name fails without ever starting.
                self._calls.append(
                    ToolCall(
                        id=f"call_{len(self._calls) + 1}",
                        name=str(meta.get("tool_name") or "tool"),
                        arguments=_arguments_text(meta.get("arguments")),
                        provider=provider_label(meta.get("provider_info")),
                        failure=reason,
                    )
                )
                out.append(ToolCallEvent(self._calls[-1]))
                return
            index = self._open_call
            call = replace(self._calls[index], failure=reason)
            if "arguments" in meta and not call.arguments:
                call = replace(call, arguments=_arguments_text(meta.get("arguments")))
        else:
            open_index = self._open_call
            assert open_index is not None
            index = open_index
            call = self._calls[index]
            if "arguments" in obj:
                call = replace(call, arguments=_arguments_text(obj.get("arguments")))
            if phase == "success":
                output = obj.get("output")
                call = replace(call, output=output if isinstance(output, str) else str(output))
        self._calls[index] = call
        if call.ended:
            self._open_call = None
        out.append(ToolCallEvent(call))

    def result_events(self, result: JSON) -> list[StreamEvent]:
        """Events from an aggregated result: ``chat.end``'s, or a whole non-streamed answer.

        Text is taken from ``output`` only when no delta carried any (a non-streamed answer).
        """
        out: list[StreamEvent] = []
        self._model(result.get("model_instance_id"), out)
        if not self.saw_text:
            for item in result.get("output") or []:
                if not isinstance(item, dict):
                    continue
                text = item.get("content")
                if item.get("type") == "reasoning" and isinstance(text, str) and text:
                    out.append(ReasoningDelta(text))
                elif item.get("type") == "message" and isinstance(text, str) and text:
                    out.extend(self._think.feed(text))
                elif item.get("type") in ("tool_call", "invalid_tool_call"):
                    out.extend(self._result_tool(item))
        out.extend(self._think.flush())
        stats = NativeStats.from_json(result.get("stats"))
        if stats is not None:
            out.append(ServerStatsReport(stats))
            if stats.input_tokens or stats.output_tokens:
                prompt, completion = stats.input_tokens or 0, stats.output_tokens or 0
                self.usage = Usage(prompt, completion, prompt + completion)
                out.append(UsageReport(self.usage))
        response_id = result.get("response_id")
        if isinstance(response_id, str) and response_id:
            out.append(ResponseIdReport(response_id))
        return out

    def _result_tool(self, item: JSON) -> list[StreamEvent]:
        meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        failed = item.get("type") == "invalid_tool_call"
        output = item.get("output")
        call = ToolCall(
            id=f"call_{len(self._calls) + 1}",
            name=str(item.get("tool") or meta.get("tool_name") or "tool"),
            arguments=_arguments_text(item.get("arguments") or meta.get("arguments")),
            provider=provider_label(item.get("provider_info") or meta.get("provider_info")),
            output=None if failed else (output if isinstance(output, str) else str(output or "")),
            failure=str(item.get("reason") or "invalid tool call") if failed else None,
        )
        self._calls.append(call)
        return [ToolCallEvent(call)]


def _fraction(obj: JSON) -> float:
    value = obj.get("progress")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return min(1.0, max(0.0, float(value)))


# ---- the transport ------------------------------------------------------------------


def native_stream_call(client: ClientCore, request: NativeChatRequest) -> NativeStreamCall:
    """The protocol of one streamed ``/api/v1/chat`` turn, for either client to drive.

    Its events end with one :class:`Finish`; it raises :class:`UnknownResponseId` when
    LM Studio no longer has the previous response, :class:`IntegrationRefused` when MCP
    use is not allowed, and the usual typed errors. Closing the stream closes the
    connection, which stops a load or a reply at once.
    """
    from lmtui.backend.stream_call import NativeStreamCall

    # The inspector and the log see the request with integration headers masked.
    masked = request.to_json(stream=True, masked=True)
    return NativeStreamCall(client, PATH, request.to_json(stream=True), masked, request.model)


def unsupported_error(what: str) -> ServerError:
    """The error for ``native_chat = "on"`` against a server without ``/api/v1``."""
    return ServerError(
        f'native_chat is "on" but {what} does not offer LM Studio\'s /api/v1/chat.',
        'Use LM Studio 0.4 or newer, or set native_chat = "auto" in the config.',
    )
