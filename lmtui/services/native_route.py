"""Which transport carries a chat turn, and how turns chain on LM Studio's /api/v1/chat.

lmtui's history stays the source of truth. ``/api/v1/chat`` takes one new input plus
``previous_response_id`` and cannot take assistant messages or custom tools, so a turn
goes there only when the reply just before it came from that same server with a
response id (or the conversation is new); everything else takes the OpenAI-compatible
path with the whole transcript. :func:`choose_route` decides (pure);
:func:`routed_stream` runs the choice and retries once on the OpenAI path when LM Studio
no longer knows the id.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import aclosing, closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lmtui.backend.native_chat import (
    REASONING_CHOICES,
    NativeChatMissing,
    UnknownResponseId,
    openai_only_params,
    unsupported_error,
)
from lmtui.backend.types import (
    ContentDelta,
    ContentWasReasoning,
    Model,
    ReasoningDelta,
    RouteReport,
    SamplingParams,
    StreamEvent,
    ToolCallEvent,
)

if TYPE_CHECKING:
    from lmtui.backend.client import LMStudioClient
    from lmtui.backend.client_core import ClientCore
    from lmtui.backend.errors import LmtuiError
    from lmtui.backend.native_chat import NativeChatRequest
    from lmtui.backend.sync_client import SyncClient
    from lmtui.backend.types import ChatRequest

NativeMode = Literal["auto", "on", "off"]
NATIVE_MODES: tuple[NativeMode, ...] = ("auto", "on", "off")
COMPLETE = "complete"

NO_NATIVE_CHAT = "the server has no /api/v1/chat: the OpenAI-compatible path is used"
# Clients whose server answered that it has no /api/v1/chat: not asked again.
_WITHOUT_NATIVE_CHAT: weakref.WeakSet[ClientCore] = weakref.WeakSet()

RESTARTED = (
    "LM Studio no longer knows this conversation's last response (restarted, or the id "
    "expired): the whole conversation was resent on the OpenAI-compatible path"
)


@dataclass(frozen=True, slots=True)
class Turn:
    """What routing needs to know about one earlier entry of the conversation."""

    role: str
    state: str = COMPLETE
    response_id: str | None = None
    response_server: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """The transport for one turn, why, and the response to chain from."""

    native: bool
    reason: str
    previous_response_id: str | None = None


def choose_route(
    *,
    mode: NativeMode,
    has_native: bool,
    server: str,
    params: SamplingParams,
    before: Sequence[Turn],
    needs_custom_tools: bool = False,
) -> Route:
    """Pick the transport for a turn whose new input follows the entries ``before``.

    ``server`` names the server (its base URL) as response ids are stored with it.
    Raises the "not supported" error when ``mode`` is ``on`` and the server has no
    ``/api/v1``.
    """
    if mode == "off":
        return Route(False, 'native_chat is "off"')
    if not has_native:
        if mode == "on":
            raise unsupported_error(server)
        return Route(False, "the server does not offer LM Studio's /api/v1/chat")
    lacking = openai_only_params(params)
    if lacking:
        return Route(False, f"/api/v1/chat does not take {', '.join(lacking)}")
    if needs_custom_tools:
        return Route(False, "custom tools need the OpenAI-compatible path")
    if not before:
        return Route(True, "a new conversation on LM Studio's /api/v1/chat")
    last = before[-1]
    if last.role != "assistant" or last.state != COMPLETE or not last.response_id:
        return Route(
            False,
            "no LM Studio response id to chain from (earlier replies took the OpenAI path, "
            "were stopped, or were imported)",
        )
    if last.response_server != server:
        return Route(False, "the previous reply came from another server")
    return Route(True, "chained from the previous reply", last.response_id)


def reasoning_choices(model: Model | None) -> tuple[str, ...]:
    """The reasoning settings ``model`` allows, in lmtui's order (empty: not offered)."""
    if model is None or not model.reasoning_options:
        return ()
    return tuple(c for c in REASONING_CHOICES if c in model.reasoning_options)


def check_reasoning(model: Model | None, choice: str | None) -> str | None:
    """Why ``choice`` cannot be used with ``model``, or None when it can (or is unset)."""
    if choice is None:
        return None
    if choice not in REASONING_CHOICES:
        return f"unknown reasoning setting {choice!r}; use one of {', '.join(REASONING_CHOICES)}"
    allowed = reasoning_choices(model)
    if model is not None and model.reasoning_options and choice not in allowed:
        return (
            f"{model.label} takes reasoning {', '.join(allowed)} "
            f"(default {model.reasoning_default or 'its own'}), not {choice}"
        )
    return None


def reasoning_effort(choice: str | None) -> str | None:
    """The OpenAI ``reasoning_effort`` for a choice (only low/medium/high have one)."""
    return choice if choice in ("low", "medium", "high") else None


def native_chat_missing(client: ClientCore) -> bool:
    """True when this client's server already answered that it has no /api/v1/chat."""
    return client in _WITHOUT_NATIVE_CHAT


def _first_route(client: ClientCore, route: Route) -> Route:
    """``route``, unless it is native and this client's server has no /api/v1/chat."""
    if route.native and client in _WITHOUT_NATIVE_CHAT:
        return Route(False, NO_NATIVE_CHAT)
    return route


def _is_output(event: StreamEvent) -> bool:
    """True for an event that is part of the reply itself (text, reasoning, a tool call)."""
    return isinstance(event, ContentDelta | ReasoningDelta | ContentWasReasoning | ToolCallEvent)


def _after_native_error(client: ClientCore, exc: LmtuiError, produced: bool) -> RouteReport:
    """The report for retrying on the OpenAI path after ``exc``; raises it when no retry fits."""
    if isinstance(exc, NativeChatMissing):
        _WITHOUT_NATIVE_CHAT.add(client)
        return RouteReport(False, NO_NATIVE_CHAT)
    if isinstance(exc, UnknownResponseId) and not produced:
        return RouteReport(False, RESTARTED)
    raise exc


async def routed_stream(
    client: LMStudioClient,
    route: Route,
    native_request: NativeChatRequest | None,
    openai_request: ChatRequest,
) -> AsyncGenerator[StreamEvent, None]:
    """Stream the reply on ``route``, first saying which path it took and why.

    When LM Studio does not know the previous response id and nothing of the reply has
    arrived yet, the turn is sent once more on the OpenAI path with the whole
    transcript, without an error (a second :class:`RouteReport` says so).
    :func:`routed_stream_sync` is the same on the synchronous client.
    """
    route = _first_route(client, route)
    yield RouteReport(route.native, route.reason)
    if route.native and native_request is not None:
        produced = False
        try:
            # aclosing: a reply stopped here closes its request at once (and is logged).
            async with aclosing(client.stream_native_chat(native_request)) as events:
                async for event in events:
                    produced = produced or _is_output(event)
                    yield event
            return
        except (NativeChatMissing, UnknownResponseId) as exc:
            yield _after_native_error(client, exc, produced)
    async with aclosing(client.stream_chat(openai_request)) as events:
        async for event in events:
            yield event


def routed_stream_sync(
    client: SyncClient,
    route: Route,
    native_request: NativeChatRequest | None,
    openai_request: ChatRequest,
) -> Generator[StreamEvent, None, None]:
    """:func:`routed_stream` on the synchronous client (``lmtui ask``'s lean path)."""
    route = _first_route(client, route)
    yield RouteReport(route.native, route.reason)
    if route.native and native_request is not None:
        produced = False
        try:
            with closing(client.stream_native_chat(native_request)) as events:
                for event in events:
                    produced = _is_output(event)
                    yield event
                    if produced:
                        break
                yield from events  # after the first output: delegated, not looped over
            return
        except (NativeChatMissing, UnknownResponseId) as exc:
            yield _after_native_error(client, exc, produced)
    yield from client.stream_chat(openai_request)
