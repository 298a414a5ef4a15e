"""The fake server's LM Studio 0.4 ``POST /api/v1/chat``, shaped as LM Studio's docs say.

Streamed (named SSE events: ``chat.start``, ``model_load.*``, ``prompt_processing.*``,
``reasoning.*``, ``tool_call.*``, ``message.*``, ``error``, ``chat.end``) and not streamed
(the aggregated result). The server keeps every stored response, so
``previous_response_id`` chains really work, until :meth:`NativeChat.restart` forgets them
as a restarted LM Studio does. Script answers with :class:`NativeReply`::

    native(srv).enqueue(NativeReply(text="hi", load_steps=(0.5, 1.0)))

With nothing scripted, the answer is ``turn N: <input>``, N counting the user turns of
the chain, so a test can see which context the server used.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Op = bytes | tuple[str, float] | Callable[[], bytes | None]

# LM Studio's answer to an id it does not have (seen in its logs for /v1/responses).
UNKNOWN_ID_MESSAGE = (
    "Prediction history node with id '{rid}' not found while attempting to build chat "
    "history chain that includes this node."
)
MCP_REFUSED_MESSAGE = (
    'Per-request MCP servers are not allowed. Enable "Allow per-request MCPs" in the '
    "server settings."
)


@dataclass(frozen=True, kw_only=True)
class FakeToolCall:
    """One scripted tool call: a success (``output``) or a failure (``failure``)."""

    tool: str
    arguments: JSON = field(default_factory=dict)
    provider: JSON = field(
        default_factory=lambda: {"type": "plugin", "plugin_id": "mcp/playwright"}
    )
    output: str | None = None
    failure: str | None = None
    invalid_name: bool = False  # fails before starting, as an unknown tool name does


@dataclass(frozen=True, kw_only=True)
class NativeReply:
    """A scripted ``/api/v1/chat`` answer."""

    text: str | None = None  # None: "turn N: <input>"
    reasoning: tuple[str, ...] = ()
    load_steps: tuple[float, ...] | None = None  # None: (0.5, 1.0) when the model is unloaded
    load_time: float = 2.5
    prompt_steps: tuple[float, ...] = ()
    tool_calls: tuple[FakeToolCall, ...] = ()
    error: JSON | None = None  # an ``error`` event before chat.end
    error_only: bool = False  # the error event ends the stream (no message, chat.end)
    status: int | None = None  # answer this HTTP status with ``body`` instead
    body: JSON | None = None
    step_delay: float = 0.0  # seconds between progress events
    delta_delay: float = 0.0
    stats: JSON | None = None  # replaces the computed stats
    cut_after_load: bool = False  # drop the connection once the load is done
    ignore_stream: bool = False  # answer the whole result as JSON even when asked to stream


@dataclass
class _Stored:
    model: str
    turns: int


class NativeChat:
    """The server-side state of /api/v1/chat: stored responses and scripted replies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.responses: dict[str, _Stored] = {}
        self.counter = 0
        self.queue: deque[NativeReply] = deque()
        self.allow_mcp = True
        self.unknown_id_style = "http"  # or "event": an error event in a 200 stream

    def enqueue(self, reply: NativeReply) -> None:
        """Script the next /api/v1/chat answer."""
        with self.lock:
            self.queue.append(reply)

    def restart(self) -> None:
        """Forget every stored response, as LM Studio does when it restarts."""
        with self.lock:
            self.responses.clear()

    def _next(self) -> NativeReply | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def _store(self, model: str, turns: int) -> str:
        with self.lock:
            self.counter += 1
            rid = f"resp_{self.counter:048x}"
            self.responses[rid] = _Stored(model, turns)
            return rid


def native(fake: Any) -> NativeChat:
    """The /api/v1/chat state of a ``FakeServer`` (made on first use)."""
    with fake.lock:
        state = getattr(fake, "_native_chat", None)
        if state is None:
            state = NativeChat()
            fake._native_chat = state
        return state


def _frame(event: str, data: JSON) -> bytes:
    payload = f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _input_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(
            str(i.get("content", ""))
            for i in value
            if isinstance(i, dict) and i.get("type") == "message"
        )
    return ""


def _error_body(
    kind: str, message: str, *, param: str | None = None, code: str | None = None
) -> JSON:
    error: JSON = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def serve_native_chat(handler: Any, rec: Any) -> None:
    """Answer one ``POST /api/v1/chat`` on the fake server's request handler."""
    fake = handler.fake
    state = native(fake)
    body = rec.json_body if isinstance(rec.json_body, dict) else {}
    # ``python tests/fake_server.py --load-seconds S``: unloaded models load in 10 slow steps.
    slow = float(getattr(fake, "native_load_delay", 0.0))
    reply = state._next() or (
        NativeReply(load_steps=tuple(i / 10 for i in range(1, 11)), step_delay=slow)
        if slow and not getattr(fake.model(str(body.get("model"))), "loaded", True)
        else NativeReply()
    )
    if reply.status is not None:
        handler._json(reply.status, reply.body or {})
        return
    model_id = body.get("model")
    if not isinstance(model_id, str) or not model_id:
        handler._json(400, _error_body("invalid_request", '"model" is required', param="model"))
        return
    model = fake.model(model_id)
    if model is None or model.type == "embeddings":
        handler._json(
            404, _error_body("model_not_found", f'Model "{model_id}" not found.', param="model")
        )
        return
    reasoning = body.get("reasoning")
    if reasoning is not None:
        allowed = list(model.reasoning_options) if "reasoning" in model.capabilities else []
        if reasoning not in allowed:
            message = (
                f"Reasoning setting '{reasoning}' is not supported by this model. "
                f"Supported: {', '.join(allowed) or 'none'}."
            )
            handler._json(400, _error_body("invalid_request", message, param="reasoning"))
            return
    if body.get("integrations") and not state.allow_mcp:
        handler._json(
            403, _error_body("invalid_request", MCP_REFUSED_MESSAGE, param="integrations")
        )
        return
    turns = 0
    prev = body.get("previous_response_id")
    unknown = None
    if prev is not None:
        with state.lock:
            stored = state.responses.get(str(prev))
        if stored is None:
            unknown = _error_body(
                "invalid_request",
                UNKNOWN_ID_MESSAGE.format(rid=prev),
                param="previous_response_id",
            )
            if state.unknown_id_style == "http":
                handler._json(400, unknown)
                return
        else:
            turns = stored.turns
    turns += 1
    text = (
        reply.text if reply.text is not None else f"turn {turns}: {_input_text(body.get('input'))}"
    )
    needs_load = not model.loaded
    if unknown is not None:
        reply = NativeReply(error=unknown, error_only=True)
    store = body.get("store", True) is not False
    if not body.get("stream") or reply.ignore_stream:
        if needs_load:
            model.loaded = True
        result = _result(reply, model_id, text, needs_load, body)
        if store:
            result["response_id"] = state._store(model_id, turns)
        handler._json(200, result)
        return
    ops = _stream_ops(
        reply,
        model,
        text,
        needs_load,
        body,
        lambda: state._store(model_id, turns) if store else None,
    )
    _write(handler, rec, ops)


def _output_items(reply: NativeReply, text: str) -> list[JSON]:
    items: list[JSON] = []
    if reply.reasoning:
        items.append({"type": "reasoning", "content": "".join(reply.reasoning)})
    for call in reply.tool_calls:
        if call.failure is not None:
            meta: JSON = {
                "type": "invalid_name" if call.invalid_name else "invalid_arguments",
                "tool_name": call.tool,
            }
            if not call.invalid_name:
                meta["arguments"] = call.arguments
                meta["provider_info"] = call.provider
            items.append({"type": "invalid_tool_call", "reason": call.failure, "metadata": meta})
        else:
            items.append(
                {
                    "type": "tool_call",
                    "tool": call.tool,
                    "arguments": call.arguments,
                    "output": call.output or "",
                    "provider_info": call.provider,
                }
            )
    if text:
        items.append({"type": "message", "content": text})
    return items


def _stats(reply: NativeReply, text: str, needs_load: bool, body: JSON) -> JSON:
    if reply.stats is not None:
        return dict(reply.stats)
    words = len(text.split()) + sum(len(r.split()) for r in reply.reasoning)
    stats: JSON = {
        "input_tokens": len(_input_text(body.get("input")).split()),
        "total_output_tokens": words,
        # LM Studio sends 0 here for models that do not reason: "not reported", not zero.
        "reasoning_output_tokens": sum(len(r.split()) for r in reply.reasoning),
        "tokens_per_second": 42.5,
        "time_to_first_token_seconds": 0.125,
    }
    if needs_load:
        stats["model_load_time_seconds"] = reply.load_time
    return stats


def _result(reply: NativeReply, model_id: str, text: str, needs_load: bool, body: JSON) -> JSON:
    return {
        "model_instance_id": model_id,
        "output": _output_items(reply, text),
        "stats": _stats(reply, text, needs_load, body),
    }


def _stream_ops(
    reply: NativeReply,
    model: Any,
    text: str,
    needs_load: bool,
    body: JSON,
    store: Callable[[], str | None],
) -> list[Op]:
    ops: list[Op] = [_frame("chat.start", {"model_instance_id": model.id})]
    if reply.error_only:
        ops.append(_frame("error", dict(reply.error or {})))
        return ops
    steps = reply.load_steps if reply.load_steps is not None else ((0.5, 1.0) if needs_load else ())
    if steps:
        ops.append(_frame("model_load.start", {"model_instance_id": model.id}))
        for p in steps:
            if reply.step_delay:
                ops.append(("sleep", reply.step_delay))
            ops.append(
                _frame("model_load.progress", {"model_instance_id": model.id, "progress": p})
            )

        def loaded() -> None:
            model.loaded = True

        ops.append(loaded)
        ops.append(
            _frame(
                "model_load.end",
                {"model_instance_id": model.id, "load_time_seconds": reply.load_time},
            )
        )
        if reply.cut_after_load:
            ops.append(("cut", 0.0))
            return ops
    elif needs_load:
        model.loaded = True
    ops.append(_frame("prompt_processing.start", {}))
    for p in reply.prompt_steps:
        if reply.step_delay:
            ops.append(("sleep", reply.step_delay))
        ops.append(_frame("prompt_processing.progress", {"progress": p}))
    ops.append(_frame("prompt_processing.end", {}))
    if reply.reasoning:
        ops.append(_frame("reasoning.start", {}))
        for piece in reply.reasoning:
            ops.append(_frame("reasoning.delta", {"content": piece}))
        ops.append(_frame("reasoning.end", {}))
    for call in reply.tool_calls:
        if call.invalid_name:
            meta = {"type": "invalid_name", "tool_name": call.tool}
            ops.append(_frame("tool_call.failure", {"reason": call.failure, "metadata": meta}))
            continue
        info = {"tool": call.tool, "provider_info": call.provider}
        ops.append(_frame("tool_call.start", info))
        ops.append(_frame("tool_call.arguments", {**info, "arguments": call.arguments}))
        if call.failure is not None:
            meta = {
                "type": "invalid_arguments",
                "tool_name": call.tool,
                "arguments": call.arguments,
                "provider_info": call.provider,
            }
            ops.append(_frame("tool_call.failure", {"reason": call.failure, "metadata": meta}))
        else:
            ops.append(
                _frame(
                    "tool_call.success",
                    {**info, "arguments": call.arguments, "output": call.output or ""},
                )
            )
    if text:
        ops.append(_frame("message.start", {}))
        for i in range(0, len(text), 4):
            if i and reply.delta_delay:
                ops.append(("sleep", reply.delta_delay))
            ops.append(_frame("message.delta", {"content": text[i : i + 4]}))
        ops.append(_frame("message.end", {}))
    if reply.error is not None:
        ops.append(_frame("error", dict(reply.error)))
    result = _result(reply, model.id, text, needs_load, body)

    def end() -> bytes:
        # The response is stored only once the reply is whole, as LM Studio does.
        rid = store()
        if rid is not None:
            result["response_id"] = rid
        return _frame("chat.end", {"result": result})

    ops.append(end)
    return ops


def _write(handler: Any, rec: Any, ops: list[Op]) -> None:
    """Stream ``ops``: frames, ("sleep"|"cut", seconds), and callables (may return a frame)."""
    fake = handler.fake
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for op in ops:
            if callable(op):
                frame = op()
                if frame is None:
                    continue
                op = frame
            if isinstance(op, bytes):
                handler.wfile.write(op)
                handler.wfile.flush()
                continue
            action, seconds = op
            if action == "sleep" and not fake.wait(seconds):
                continue
            handler._drop(reset=False)
            return
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except OSError:
        rec.client_gone = True
        handler.close_connection = True
