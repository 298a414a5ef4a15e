"""One prompt to several models (or presets) at once, side by side.

Every column streams concurrently; a column that fails keeps its error and
partial text while the others finish. Any column can then be kept as a new
conversation in the history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import (
    ChatRequest,
    ChatResult,
    ContentDelta,
    FinishReason,
    Message,
    Model,
    ReasoningDelta,
    SamplingParams,
    StreamEvent,
)
from lmtui.services.model_choice import resolve_model
from lmtui.store.history import HistoryStore
from lmtui.store.presets import Preset


@dataclass(frozen=True, slots=True)
class CompareTarget:
    """What one column asks: a model, with a preset's system prompt and parameters."""

    model: str
    label: str = ""
    system_prompt: str = ""
    params: SamplingParams = field(default_factory=SamplingParams)
    preset: str | None = None

    @property
    def title(self) -> str:
        """The column heading."""
        return self.label or self.model

    @classmethod
    def from_preset(cls, preset: Preset, models: Sequence[Model]) -> CompareTarget:
        """A target for a preset, its model chosen as a conversation's would be."""
        choice = resolve_model(preset, None, models)
        if choice.model_id is None:
            raise LmtuiError(f"Preset '{preset.name}': {choice.reason}.")
        return cls(
            model=choice.model_id,
            label=f"{preset.name} · {choice.model_id}",
            system_prompt=preset.system_prompt,
            params=preset.params,
            preset=preset.name,
        )


@dataclass(slots=True)
class CompareColumn:
    """One column: its target, the reply so far, and how it ended."""

    target: CompareTarget
    result: ChatResult = field(default_factory=ChatResult)
    error: LmtuiError | None = None
    running: bool = False
    started: float | None = None
    first_token: float | None = None
    ended: float | None = None
    kept_as: int | None = None

    @property
    def ttft_s(self) -> float | None:
        """Seconds from sending to the first piece of text."""
        if self.started is None or self.first_token is None:
            return None
        return self.first_token - self.started

    @property
    def tokens(self) -> int:
        """Completion tokens: the server's count when it gave one, else the deltas seen."""
        if self.result.usage is not None and self.result.usage.completion_tokens:
            return self.result.usage.completion_tokens
        timings = self.result.client_timings
        return timings.delta_count if timings is not None else 0

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed after the first token."""
        timings = self.result.client_timings
        if timings is not None and timings.tokens_per_second is not None:
            return timings.tokens_per_second
        return None

    @property
    def finish_reason(self) -> FinishReason | None:
        """Why the reply ended; None while it runs (or when it failed before replying)."""
        if self.running:
            return None
        if self.error is not None:
            return FinishReason.ERROR
        if self.ended is None:
            return None
        return self.result.finish_reason


# Called for every event of every column: (column index, event).
EventCallback = Callable[[int, StreamEvent], None]
# Called when a column ends, well or not.
EndCallback = Callable[[int, CompareColumn], None]


class CompareRun:
    """One prompt sent to every target at once."""

    def __init__(
        self,
        client: LMStudioClient,
        prompt: str,
        targets: Sequence[CompareTarget],
    ) -> None:
        if len(targets) < 1:
            raise LmtuiError("Choose at least one model to compare.")
        self.client = client
        self.prompt = prompt
        self.columns = [CompareColumn(t) for t in targets]

    def request(self, index: int) -> ChatRequest:
        """The request column ``index`` sends."""
        target = self.columns[index].target
        messages: list[Message] = []
        if target.system_prompt:
            messages.append(Message("system", target.system_prompt))
        messages.append(Message("user", self.prompt))
        return ChatRequest(target.model, tuple(messages), target.params)

    async def run(
        self, on_event: EventCallback | None = None, on_end: EndCallback | None = None
    ) -> list[CompareColumn]:
        """Stream every column concurrently; return when all have ended.

        A failing column records its error; cancelling the run marks the
        unfinished columns ``stopped`` and keeps their partial text.
        """
        await asyncio.gather(*(self._one(i, on_event, on_end) for i in range(len(self.columns))))
        return self.columns

    async def _one(
        self, index: int, on_event: EventCallback | None, on_end: EndCallback | None
    ) -> None:
        column = self.columns[index]
        column.running = True
        column.started = time.monotonic()
        try:
            async for event in self.client.stream_chat(self.request(index)):
                if column.first_token is None and isinstance(event, ContentDelta | ReasoningDelta):
                    column.first_token = time.monotonic()
                column.result.apply(event)
                if on_event is not None:
                    on_event(index, event)
        except LmtuiError as exc:
            column.error = exc
        except asyncio.CancelledError:
            column.result.finish_reason = FinishReason.STOPPED
            raise
        finally:
            column.running = False
            column.ended = time.monotonic()
            if on_end is not None:
                on_end(index, column)

    def keep(self, index: int, history: HistoryStore, *, server: str | None = None) -> int:
        """Save column ``index`` as a new conversation; return its id."""
        column = self.columns[index]
        if column.running:
            raise LmtuiError(
                "That column is still streaming.", "Wait for it to finish, or stop it."
            )
        if not column.result.content and column.error is not None:
            raise LmtuiError(
                "That column has no reply to keep: it failed.", column.error.remedy or None
            )
        target = column.target
        server = server or self.client.base_url
        cid = history.create_conversation(
            history.auto_title(self.prompt), model=target.model, preset=target.preset, server=server
        )
        if target.system_prompt:
            history.add_message(cid, "system", target.system_prompt)
        history.add_message(cid, "user", self.prompt)
        result = column.result
        reason = column.finish_reason
        state = "complete"
        if reason is FinishReason.STOPPED:
            state = "stopped"
        elif reason in (FinishReason.INTERRUPTED, FinishReason.ERROR):
            state = "interrupted"
        timings: dict[str, object] = {}
        if result.client_timings is not None:
            timings["client"] = asdict(result.client_timings)
        if result.server_timings is not None:
            timings["server"] = asdict(result.server_timings)
        history.add_message(
            cid,
            "assistant",
            result.content,
            reasoning=result.reasoning,
            model_requested=target.model,
            model_used=result.model or target.model,
            preset=target.preset,
            params=target.params.to_json(),
            finish_reason=reason.value if reason is not None else None,
            usage=asdict(result.usage) if result.usage is not None else None,
            timings=timings or None,
            server=server,
            state=state,
            error=column.error.message if column.error is not None else None,
        )
        column.kept_as = cid
        return cid
