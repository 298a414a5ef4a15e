"""What a reply holds beyond its text: route, progress, tool calls, the server's own stats.

:class:`ReplyExtras` folds the events only LM Studio's ``/api/v1/chat`` sends (and the
route report every reply starts with); :func:`answer_check` says when an answer landed
in the reasoning. Both are pure and shared by the TUI and ``lmtui ask``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lmtui.backend.types import (
    LoadProgress,
    NativeStats,
    PromptProgress,
    ResponseIdReport,
    RouteReport,
    ServerStatsReport,
    StreamEvent,
    ToolCall,
    ToolCallEvent,
)
from lmtui.store.history_native import ReplyFacts

ONLY_REASONING = "the model answered only in its reasoning: raise max tokens, or turn reasoning off"
JSON_IN_REASONING = "the JSON answer came in the model's reasoning; shown as the answer"
NOT_REPORTED = "not reported"


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
    load_started: float | None = None
    prompt_started: float | None = None
    clock: Callable[[], float] = time.monotonic

    def apply(self, event: StreamEvent) -> bool:
        """Fold one event; False when it is not one of these."""
        if isinstance(event, RouteReport):
            self.native = event.native
            self.route_reason = event.reason
        elif isinstance(event, LoadProgress):
            self._load(event)
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

    def facts(self, server: str | None) -> ReplyFacts:
        """What history keeps of these (the response id with the server that issued it)."""
        return ReplyFacts(
            response_id=self.response_id,
            response_server=server if self.response_id else None,
            route=self.route,
            load_seconds=self.load_seconds,
            prompt_seconds=self.prompt_seconds,
            tool_calls=tuple(self.tool_calls),
        )

    @classmethod
    def from_facts(cls, facts: ReplyFacts) -> ReplyExtras:
        """Extras of a reply read back from history."""
        native: bool | None = None
        reason = ""
        if facts.route:
            kind, _, reason = facts.route.partition(": ")
            native = kind == "native"
        return cls(
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
