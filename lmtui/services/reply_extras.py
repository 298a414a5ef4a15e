"""What a reply holds beyond its text, as history keeps it and people read it.

:class:`~lmtui.backend.types.ReplyExtras` folds the route, progress, tool calls and the
server's stats; here they become history's :class:`ReplyFacts` and back, LM Studio's
figures become readable pairs ("not reported" for its zero counts), and
:func:`answer_check` says when an answer landed in the reasoning. Pure, shared by the
TUI and ``lmtui ask``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmtui.backend.types import NativeStats, ReplyExtras
from lmtui.store.history_native import ReplyFacts

if TYPE_CHECKING:
    from lmtui.services.doctor import Finding

ONLY_REASONING = "the model answered only in its reasoning: raise max tokens, or turn reasoning off"
JSON_IN_REASONING = "the JSON answer came in the model's reasoning; shown as the answer"
NOT_REPORTED = "not reported"


def facts_of(extras: ReplyExtras, server: str | None) -> ReplyFacts:
    """What history keeps of a reply's extras (the response id with the server that issued it)."""
    return ReplyFacts(
        response_id=extras.response_id,
        response_server=server if extras.response_id else None,
        route=extras.route,
        load_seconds=extras.load_seconds,
        prompt_seconds=extras.prompt_seconds,
        tool_calls=tuple(extras.tool_calls),
    )


def extras_from_facts(facts: ReplyFacts) -> ReplyExtras:
    """The extras of a reply read back from history."""
    native: bool | None = None
    reason = ""
    if facts.route:
        kind, _, reason = facts.route.partition(": ")
        native = kind == "native"
    return ReplyExtras(
        native=native,
        route_reason=reason,
        response_id=facts.response_id,
        load_seconds=facts.load_seconds,
        prompt_seconds=facts.prompt_seconds,
        tool_calls=list(facts.tool_calls),
    )


def stats_figures(stats: NativeStats) -> list[tuple[str, str]]:
    """LM Studio's figures as (label, value) pairs; counts it left at zero say "not reported"."""

    def count(value: int | None) -> str:
        return NOT_REPORTED if value is None else str(value)

    pairs = [
        ("input tokens", count(stats.input_tokens)),
        ("output tokens", count(stats.output_tokens)),
        ("reasoning tokens", count(stats.reasoning_tokens)),
        (
            "tokens/s",
            NOT_REPORTED if stats.tokens_per_second is None else f"{stats.tokens_per_second:.1f}",
        ),
        (
            "first token",
            NOT_REPORTED
            if stats.time_to_first_token_s is None
            else f"{stats.time_to_first_token_s * 1000:.0f} ms",
        ),
    ]
    if stats.model_load_time_s is not None:
        pairs.append(("model load", f"{stats.model_load_time_s:.1f} s"))
    return pairs


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """What to tell about where the answer went: ``answer`` replaces an empty one."""

    note: str | None = None
    answer: str | None = None
    only_reasoning: bool = False


def answer_check(content: str, reasoning: str) -> AnswerCheck:
    """Flag an answer that came only as reasoning; surface a JSON answer found there."""
    if content.strip() or not reasoning.strip():
        return AnswerCheck()
    text = reasoning.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if text[:1] in "{[":
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return AnswerCheck(JSON_IN_REASONING, answer=text)
    return AnswerCheck(ONLY_REASONING, only_reasoning=True)


def server_footer(extras: ReplyExtras) -> list[str]:
    """Short footer parts marked as the server's: its tokens/s, load and prompt times."""
    parts: list[str] = []
    stats = extras.server_stats
    if stats is not None and stats.tokens_per_second is not None:
        parts.append(f"LM Studio {stats.tokens_per_second:.1f} tok/s")
    if extras.load_seconds is not None:
        parts.append(f"load {extras.load_seconds:.1f} s")
    if extras.prompt_seconds is not None and extras.prompt_seconds >= 0.1:
        parts.append(f"prompt {extras.prompt_seconds:.1f} s")
    if extras.tool_calls:
        failed = sum(1 for c in extras.tool_calls if c.failure is not None)
        tools = f"{len(extras.tool_calls)} tool call(s)"
        parts.append(tools + (f", {failed} failed" if failed else ""))
    return parts


def answer_findings(notes: Sequence[str | None]) -> list[Finding]:
    """Troubleshooting findings for the conversation's replies whose answer went astray.

    ``notes`` are the replies' ``answer_note`` values, oldest first; only the latest of
    each kind is reported.
    """
    from lmtui.services.doctor import Finding

    out: list[Finding] = []
    if any(n == ONLY_REASONING for n in notes):
        out.append(
            Finding(
                "answer_only_in_reasoning",
                "warn",
                "A reply came only as reasoning",
                "The answer was empty while the reasoning was not (LM Studio 0.4.6 does this "
                "when the reasoning uses up the token budget).",
                "Raise max tokens (F4), or turn reasoning off (the reasoning selector).",
            )
        )
    if any(n == JSON_IN_REASONING for n in notes):
        out.append(
            Finding(
                "json_in_reasoning",
                "info",
                "A JSON answer arrived in the reasoning",
                "It is shown as the reply's answer.",
            )
        )
    return out
