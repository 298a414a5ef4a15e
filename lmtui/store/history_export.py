"""History export (Markdown, lmtui JSON) and import parsing (JSON Lines, lmtui JSON).

Parsing validates everything before the store writes anything, so a bad file
imports nothing. Errors name the line (JSON Lines) or the conversation (lmtui
JSON) and say what is wrong.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lmtui.store.history_native import ReplyFacts
from lmtui.store.history_records import ConversationSummary, MessageRecord
from lmtui.store.history_schema import ROLES, STATES

if TYPE_CHECKING:
    from lmtui.backend.types import ToolCall

EXPORT_VERSION = 1

Conversation = tuple[ConversationSummary, Sequence[MessageRecord]]


class ImportFormatError(ValueError):
    """A file to import is not in a format lmtui reads; the message says where."""


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and
# building a million of these was a fifth of a million-message import's CPU time.
@dataclass(slots=True)
class MessageData:
    """A message to import, validated, with no ids yet (treat it as read-only)."""

    role: str
    content: str
    reasoning: str = ""
    attachments: tuple[str, ...] = ()
    model_requested: str | None = None
    model_used: str | None = None
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    server: str | None = None
    created: float | None = None
    state: str = "complete"
    error: str | None = None
    facts: ReplyFacts = field(default_factory=ReplyFacts)


@dataclass(frozen=True, slots=True)
class ConversationData:
    """A conversation to import, validated, with no ids yet."""

    title: str | None
    messages: tuple[MessageData, ...]
    created: float | None = None
    updated: float | None = None
    model: str | None = None
    preset: str | None = None
    server: str | None = None


# ---- export -----------------------------------------------------------------------


def message_to_json(m: MessageRecord) -> dict[str, Any]:
    """One message in lmtui's export format."""
    return {
        "role": m.role,
        "content": m.content,
        "reasoning": m.reasoning,
        "attachments": list(m.attachments),
        "model_requested": m.model_requested,
        "model_used": m.model_used,
        "preset": m.preset,
        "params": m.params,
        "finish_reason": m.finish_reason,
        "usage": m.usage,
        "timings": m.timings,
        "server": m.server,
        "created": m.created,
        "state": m.state,
        "error": m.error,
        "response_id": m.response_id,
        "response_server": m.response_server,
        "route": m.route,
        "load_seconds": m.load_seconds,
        "prompt_seconds": m.prompt_seconds,
        "tool_calls": [c.to_json() for c in m.tool_calls],
    }


def conversation_to_json(summary: ConversationSummary) -> dict[str, Any]:
    """A conversation's fields (without messages) in lmtui's export format."""
    return {
        "title": summary.title,
        "created": summary.created,
        "updated": summary.updated,
        "model": summary.model,
        "preset": summary.preset,
        "server": summary.server,
    }


def to_json(conversations: Iterable[Conversation]) -> str:
    """lmtui's own JSON export of ``conversations``."""
    out = [
        conversation_to_json(s) | {"messages": [message_to_json(m) for m in msgs]}
        for s, msgs in conversations
    ]
    doc = {"lmtui_export": EXPORT_VERSION, "exported": time.time(), "conversations": out}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def when(ts: float) -> str:
    """A stored time as local ``YYYY-MM-DD HH:MM``; "?" for one no calendar can show."""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
    except (OverflowError, ValueError, OSError):  # a database poisoned before imports were checked
        return "?"


_when = when


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _message_md(m: MessageRecord) -> str:
    header = m.role.capitalize()
    details: list[str] = []
    model = m.model_used or m.model_requested
    if model and m.role == "assistant":
        details.append(model)
    if m.finish_reason:
        details.append(f"finish: {m.finish_reason}")
    if m.state != "complete":
        details.append(m.state)
    if details:
        header += " · " + " · ".join(details)
    parts = [f"## {header}"]
    if m.reasoning:
        fence = _fence(m.reasoning)
        parts.append(
            f"<details><summary>Reasoning</summary>\n\n{fence}text\n{m.reasoning}\n{fence}\n\n"
            "</details>"
        )
    if m.attachments:
        parts.append("Attachments: " + ", ".join(m.attachments))
    parts.extend(_tool_call_md(c) for c in m.tool_calls)
    parts.append(m.content if m.content else "*(empty)*")
    if m.error:
        parts.append(f"> Error: {m.error}")
    return "\n\n".join(parts)


def _tool_call_md(call: ToolCall) -> str:
    head = f"Tool call: {call.name}" + (f" ({call.provider})" if call.provider else "")
    if call.failure is not None:
        head += " · failed"
    body = f"arguments: {call.arguments}\n"
    body += f"failure: {call.failure}" if call.failure is not None else f"output: {call.output}"
    fence = _fence(body)
    return f"<details><summary>{head}</summary>\n\n{fence}text\n{body}\n{fence}\n\n</details>"


def to_markdown(conversations: Iterable[Conversation]) -> str:
    """A readable Markdown export of ``conversations``."""
    blocks: list[str] = []
    for s, msgs in conversations:
        facts = [f"Created {_when(s.created)}", f"updated {_when(s.updated)}"]
        if s.model:
            facts.append(f"model {s.model}")
        if s.preset:
            facts.append(f"preset {s.preset}")
        if s.server:
            facts.append(f"server {s.server}")
        head = f"# {s.title}\n\n*{' · '.join(facts)}*"
        blocks.append("\n\n".join([head, *(_message_md(m) for m in msgs)]))
    return "\n\n---\n\n".join(blocks) + "\n"


# ---- import -----------------------------------------------------------------------


# Every imported value is checked here, so nothing stored can break a later list or
# export: times within years 1970-9999, text that is valid Unicode, bounded nesting.
LATEST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: time.localtime still works
MAX_DEPTH = 32


def _text_ok(value: str, where: str, key: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportFormatError(
            f'{where}: "{key}" is not valid Unicode (it holds a lone surrogate)'
        ) from None
    return value


def _str(obj: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str | None:
    value = obj.get(key, default)
    if value is None:
        return value
    if isinstance(value, str):
        return _text_ok(value, where, key)
    raise ImportFormatError(f'{where}: "{key}" must be a string')


def _num(obj: dict[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImportFormatError(f'{where}: "{key}" must be a number (Unix time)')
    if isinstance(value, int) and not 0 <= value <= LATEST_TIME:
        value = -1.0  # huge integers never reach float(), which would overflow
    if not 0 <= value <= LATEST_TIME:  # NaN and infinities fail this too
        raise ImportFormatError(
            f'{where}: "{key}" must be a Unix time between 1970 and 9999, not {str(value)[:20]}'
        )
    return float(value)


def _plain(value: object, where: str, key: str, depth: int = 0) -> None:
    """Check a free-form JSON value (params, usage, timings) can be stored and shown."""
    if depth > MAX_DEPTH:
        raise ImportFormatError(f'{where}: "{key}" is nested more than {MAX_DEPTH} levels deep')
    if isinstance(value, str):
        _text_ok(value, where, key)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ImportFormatError(f'{where}: "{key}" holds {value}, which is not a number')
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
        raise ImportFormatError(f'{where}: "{key}" holds an integer too large to store')
    elif isinstance(value, dict):
        for k, v in value.items():
            _text_ok(k, where, key)
            _plain(v, where, key, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _plain(v, where, key, depth + 1)


def _obj(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return value
    if isinstance(value, dict):
        _plain(value, where, key)
        return value
    raise ImportFormatError(f'{where}: "{key}" must be an object')


def _loads(text: str, where: str) -> object:
    """``json.loads`` whose every failure is an :class:`ImportFormatError` naming ``where``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{where}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ImportFormatError(f"{where}: nested too deeply to be a conversation") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ImportFormatError(f"{where}: not usable JSON ({exc})") from None


_ROLE_AND_CONTENT = frozenset(("role", "content"))
_NO_FACTS = ReplyFacts()  # frozen: one shared instance instead of one per message


def _message(raw: object, where: str) -> MessageData:
    if not isinstance(raw, dict):
        raise ImportFormatError(f"{where}: must be an object with role and content")
    role = raw.get("role")
    if role not in ROLES:
        raise ImportFormatError(f'{where}: "role" must be one of {", ".join(ROLES)}')
    content = raw.get("content")
    if not isinstance(content, str):
        raise ImportFormatError(f'{where}: "content" must be a string')
    if raw.keys() <= _ROLE_AND_CONTENT:
        # The usual JSON Lines message: nothing else to check (a third of the parse time
        # of a million-message import went to looking up absent keys).
        _text_ok(content, where, "content")
        return MessageData(role=str(role), content=content, facts=_NO_FACTS)
    attachments = raw.get("attachments") or []
    if not isinstance(attachments, list) or (
        attachments and not all(isinstance(a, str) for a in attachments)
    ):
        raise ImportFormatError(f'{where}: "attachments" must be a list of strings')
    _text_ok(content, where, "content")
    for a in attachments:
        _text_ok(a, where, "attachments")
    state = raw.get("state") or "complete"
    if state not in STATES:
        raise ImportFormatError(f'{where}: "state" must be one of {", ".join(STATES)}')
    if state == "streaming":
        state = "interrupted"  # nothing will ever finish an imported reply
    return MessageData(
        role=str(role),
        content=content,
        reasoning=_str(raw, "reasoning", where) or "",
        attachments=tuple(attachments),
        model_requested=_str(raw, "model_requested", where),
        model_used=_str(raw, "model_used", where) or _str(raw, "model", where),
        preset=_str(raw, "preset", where),
        params=_obj(raw, "params", where) or {},
        finish_reason=_str(raw, "finish_reason", where),
        usage=_obj(raw, "usage", where),
        timings=_obj(raw, "timings", where),
        server=_str(raw, "server", where),
        created=_num(raw, "created", where),
        state=str(state),
        error=_str(raw, "error", where),
        facts=_facts(raw, where),
    )


def _facts(raw: dict[str, Any], where: str) -> ReplyFacts:
    calls = raw.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ImportFormatError(f'{where}: "tool_calls" must be a list')
    parsed: list[ToolCall] = []
    if calls:  # imported only when there are calls, so `history search` stays lean
        from lmtui.backend.types import ToolCall
    for i, call in enumerate(calls, 1):
        try:
            parsed.append(ToolCall.from_json(call))
        except ValueError as exc:
            raise ImportFormatError(f"{where}, tool call {i}: {exc}") from None
    return ReplyFacts(
        response_id=_str(raw, "response_id", where),
        response_server=_str(raw, "response_server", where),
        route=_str(raw, "route", where),
        load_seconds=_num(raw, "load_seconds", where),
        prompt_seconds=_num(raw, "prompt_seconds", where),
        tool_calls=tuple(parsed),
    )


def _conversation(raw: object, where: str) -> ConversationData:
    if not isinstance(raw, dict):
        raise ImportFormatError(f'{where}: must be an object with a "messages" list')
    messages = raw.get("messages")
    if not isinstance(messages, list):
        raise ImportFormatError(f'{where}: "messages" must be a list')
    return ConversationData(
        title=_str(raw, "title", where),
        messages=tuple(_message(m, f"{where}, message {i}") for i, m in enumerate(messages, 1)),
        created=_num(raw, "created", where),
        updated=_num(raw, "updated", where),
        model=_str(raw, "model", where),
        preset=_str(raw, "preset", where),
        server=_str(raw, "server", where),
    )


def _lmtui_export(doc: dict[str, Any]) -> list[ConversationData]:
    version = doc.get("lmtui_export")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ImportFormatError(
            f"lmtui export version {version!r} is not supported (this lmtui reads {EXPORT_VERSION})"
        )
    conversations = doc.get("conversations")
    if not isinstance(conversations, list):
        raise ImportFormatError('lmtui export: "conversations" must be a list')
    return [_conversation(c, f"conversation {i}") for i, c in enumerate(conversations, 1)]


def parse_import(text: str) -> list[ConversationData]:
    """Conversations in ``text``: lmtui's JSON export or JSON Lines.

    JSON Lines: one conversation per line, ``{"title"?: str, "messages": [{"role",
    "content"}, ...]}``; blank lines are skipped. Raises :class:`ImportFormatError`
    naming the first bad line.
    """
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            whole = json.loads(text)
        except (ValueError, RecursionError):
            whole = None  # several lines (JSON Lines), or a bad line reported below
        if isinstance(whole, dict) and "lmtui_export" in whole:
            return _lmtui_export(whole)
    out: list[ConversationData] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        raw = _loads(line, f"line {number}")
        out.append(_conversation(raw, f"line {number}"))
    return out
