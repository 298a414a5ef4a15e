"""Custom tools on the OpenAI-compatible path: streamed calls assembled, tool messages out.

Servers stream a model's tool calls as ``delta.tool_calls`` fragments: the first
fragment of a call carries its ``index``, ``id`` and function ``name``; its JSON
``arguments`` then arrive in pieces, and one reply may hold several calls.
:class:`ToolCallAssembler` puts them back together; pure code with no I/O, so a
property test can cut the pieces anywhere.

The request side: :class:`ToolChatRequest` adds ``tools`` to a chat request, and
:class:`AssistantToolCallsMessage` / :class:`ToolResultMessage` are the messages
that continue a conversation after the calls were answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lmtui.backend.types import JSON, ChatRequest, Message


@dataclass(frozen=True, slots=True)
class AssembledCall:
    """One tool call of a reply, put back together from its streamed pieces."""

    index: int
    id: str
    name: str
    arguments: str  # exactly as the model wrote it (JSON text, usually)

    def parsed_arguments(self) -> tuple[JSON | None, str]:
        """``(arguments, "")`` when they are a JSON object, else ``(None, why not)``."""
        text = self.arguments.strip()
        if not text:
            return {}, ""
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return None, f"the arguments are not valid JSON ({exc})"
        if not isinstance(value, dict):
            return None, f"the arguments are JSON but not an object ({type(value).__name__})"
        return value, ""

    def to_json(self) -> JSON:
        """The OpenAI wire form, as sent back in the assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class ToolCallAssembler:
    """Feed ``delta.tool_calls`` lists in; get whole calls out with :meth:`calls`."""

    __slots__ = ("_calls", "_last")

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}
        self._last: int | None = None

    def feed(self, fragments: object) -> None:
        """Fold one ``delta.tool_calls`` value (a list of fragments) in; junk is ignored."""
        if isinstance(fragments, dict):
            fragments = [fragments]  # some servers send one object, not a list
        if not isinstance(fragments, list):
            return
        for fragment in fragments:
            if isinstance(fragment, dict):
                self._fragment(fragment)

    def _fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        call_id = fragment.get("id")
        if not isinstance(index, int) or isinstance(index, bool):
            # No index: the call with this id, else a new call when an id is given,
            # else the call being streamed.
            known = next(
                (i for i, c in self._calls.items() if call_id and c["id"] == call_id), None
            )
            if known is not None:
                index = known
            elif call_id or self._last is None:
                index = max(self._calls, default=-1) + 1
            else:
                index = self._last
        call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        self._last = index
        if isinstance(call_id, str) and call_id and not call["id"]:
            call["id"] = call_id
        function = fragment.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if isinstance(name, str) and name and name != call["name"]:
            # A name normally arrives whole; a server that splits it sends the rest later.
            call["name"] = name if not call["name"] else call["name"] + name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call["arguments"] += arguments
        elif isinstance(arguments, dict):
            call["arguments"] += json.dumps(arguments)  # a server that sends an object

    @property
    def started(self) -> bool:
        """True once any fragment arrived."""
        return bool(self._calls)

    def calls(self) -> list[AssembledCall]:
        """Every call so far, in index order (ids made up for calls the server sent none)."""
        return [
            AssembledCall(i, c["id"] or f"call_{i}", c["name"], c["arguments"])
            for i, c in sorted(self._calls.items())
        ]


@dataclass(frozen=True, slots=True)
class AssistantToolCallsMessage(Message):
    """The assistant turn that asked for tool calls, sent back before their results."""

    tool_calls: tuple[AssembledCall, ...] = ()

    def to_json(self) -> JSON:
        """``{"role": "assistant", "content", "tool_calls": [...]}``."""
        return {
            "role": "assistant",
            "content": self.content or None,
            "tool_calls": [c.to_json() for c in self.tool_calls],
        }


@dataclass(frozen=True, slots=True)
class ToolResultMessage(Message):
    """The answer to one tool call: ``{"role": "tool", "tool_call_id", "content"}``."""

    tool_call_id: str = ""

    def to_json(self) -> JSON:
        """The wire form."""
        return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}


@dataclass(frozen=True, slots=True)
class ToolChatRequest(ChatRequest):
    """A chat request that offers the model custom tools (``tools``, OpenAI function form)."""

    tools: tuple[JSON, ...] = ()

    def to_json(self, *, stream: bool) -> JSON:
        """The chat body plus ``tools``."""
        body = ChatRequest.to_json(self, stream=stream)
        if self.tools:
            body["tools"] = list(self.tools)
        return body
