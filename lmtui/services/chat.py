"""One conversation: build requests, stream replies, persist them as they grow.

Shared by the TUI and ``lmtui ask``. History is optional: when the store cannot
be written (full disk, locked database) the conversation goes on in memory and
``history_error`` says why.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import (
    ChatRequest,
    ClientTimings,
    ContentDelta,
    Finish,
    FinishReason,
    Message,
    ModelUsed,
    ReasoningDelta,
    SamplingParams,
    ServerTimings,
    StreamEvent,
    TimingsReport,
    Usage,
    UsageReport,
)
from lmtui.services.continuation import (
    CONTINUE_PROMPT,
    FALLBACK_NOTE,
    join_continuation,
    prefill_refused,
)

if TYPE_CHECKING:
    from lmtui.store.history import HistoryStore, MessageRecord, ReplyWriter

# Entry states, as stored in history.
COMPLETE = "complete"
STREAMING = "streaming"
STOPPED = "stopped"
INTERRUPTED = "interrupted"
ERROR = "error"


@dataclass(slots=True)
class Entry:
    """One message of the conversation as the UI shows it.

    While a reply streams, ``content`` may trail the deltas by up to an eighth of its
    length (see ``_TextGrowth``); it is exact once the reply ends, stops or fails.
    """

    role: str
    content: str
    reasoning: str = ""
    images: tuple[str, ...] = ()
    message_id: int | None = None
    model_requested: str | None = None
    model_used: str | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    server_timings: ServerTimings | None = None
    client_timings: ClientTimings | None = None
    state: str = COMPLETE
    error: str | None = None
    detail: str = ""
    note: str = ""  # lmtui's own word on how the reply was made (a continue's fallback)
    created: float = field(default_factory=time.time)
    request_json: dict[str, Any] | None = None  # exactly what was sent, for the inspector

    def timings_json(self) -> dict[str, Any] | None:
        """Client and server timings as one JSON-able mapping."""
        out: dict[str, Any] = {}
        if self.client_timings is not None:
            out["client"] = asdict(self.client_timings)
        if self.server_timings is not None:
            out["server"] = asdict(self.server_timings)
        return out or None


class ChatSession:
    """A conversation with one server: the context sent, the replies, their persistence."""

    def __init__(
        self,
        client: LMStudioClient,
        *,
        model: str | None = None,
        system_prompt: str = "",
        params: SamplingParams | None = None,
        preset: str | None = None,
        history: HistoryStore | None = None,
        server_label: str | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.system_prompt = system_prompt
        self.params = params or SamplingParams()
        self.preset = preset
        self.history = history
        self.server_label = server_label or client.base_url
        self.entries: list[Entry] = []
        self.conversation_id: int | None = None
        self.title: str | None = None
        self.history_error: str | None = None

    # ---- history --------------------------------------------------------------

    def _history_call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a history operation; on failure keep going without history."""
        if self.history is None:
            return None
        try:
            return fn(*args, **kwargs)
        except LmtuiError as exc:
            self.history_error = exc.message
        except OSError as exc:  # the store should wrap these; belt and braces
            self.history_error = f"history is not being saved: {what}: {exc}"
        return None

    def _ensure_conversation(self, first_prompt: str) -> None:
        if self.conversation_id is not None or self.history is None:
            return
        title = self.history.auto_title(first_prompt)
        self.title = title
        self.conversation_id = self._history_call(
            "create conversation",
            self.history.create_conversation,
            title,
            model=self.model,
            preset=self.preset,
            server=self.server_label,
        )

    def load(self, conversation_id: int) -> None:
        """Load a conversation from history to continue it."""
        if self.history is None:
            raise LmtuiError("History is not available.")
        summary, records = self.history.get_conversation(conversation_id)
        self.conversation_id = conversation_id
        self.title = summary.title
        self.model = self.model or summary.model
        self.entries = [entry_from_record(r) for r in records if r.role != "system"]

    # ---- requests -------------------------------------------------------------

    def build_request(
        self, upto: int | None = None, *, extra: tuple[Message, ...] = ()
    ) -> ChatRequest:
        """The request for the entries before ``upto`` (all when None)."""
        if not self.model:
            raise LmtuiError(
                "No model chosen.",
                "Pick a model in the sidebar, or pass --model (see `lmtui models`).",
            )
        messages: list[Message] = []
        if self.system_prompt:
            messages.append(Message("system", self.system_prompt))
        for entry in self.entries[:upto]:
            if entry.state == ERROR or (entry.role == "assistant" and not entry.content):
                continue
            messages.append(Message(entry.role, entry.content, entry.images))
        messages.extend(extra)
        return ChatRequest(self.model, tuple(messages), self.params)

    # ---- operations -----------------------------------------------------------

    def send(self, text: str, images: tuple[str, ...] = ()) -> AsyncGenerator[StreamEvent, None]:
        """Add a user message and stream the reply."""
        self._ensure_conversation(text)
        user = Entry("user", text, images=images)
        self.entries.append(user)
        if self.conversation_id is not None and self.history is not None:
            user.message_id = self._history_call(
                "save prompt",
                self.history.add_message,
                self.conversation_id,
                "user",
                text,
                attachments=tuple(f"image:{len(i)} bytes" for i in images),
            )
        return self._reply(self.build_request())

    def regenerate(self) -> AsyncGenerator[StreamEvent, None]:
        """Drop the last reply and ask again."""
        if self.entries and self.entries[-1].role == "assistant":
            self._drop_from(len(self.entries) - 1)
        if not self.entries or self.entries[-1].role != "user":
            raise LmtuiError("There is no prompt to regenerate a reply for.")
        return self._reply(self.build_request())

    def edit_and_resend(self, index: int, text: str) -> AsyncGenerator[StreamEvent, None]:
        """Replace user message ``index``, drop everything after it, and ask again."""
        entry = self.entries[index]
        if entry.role != "user":
            raise LmtuiError("Only your own messages can be edited.")
        self._drop_from(index + 1)
        entry.content = text
        if entry.message_id is not None and self.history is not None:
            self._history_call(
                "save edit", self.history.update_message, entry.message_id, content=text
            )
        return self._reply(self.build_request())

    def continue_reply(self) -> AsyncGenerator[StreamEvent, None]:
        """Continue the last reply (after it ended on ``length`` or was stopped).

        The partial reply goes last, as the assistant's own text, so the server
        extends it; where the server refuses that, a user turn asks the model to go
        on and the entry's ``note`` says so (see ``services.continuation``).
        """
        if not self.entries or self.entries[-1].role != "assistant":
            raise LmtuiError("There is no reply to continue.")
        return self._continue(self.entries[-1])

    async def _continue(self, entry: Entry) -> AsyncGenerator[StreamEvent, None]:
        before = entry.content
        if before:
            try:
                async for event in self._reply(
                    self.build_request(),
                    into=entry,
                    shape_first=lambda text: join_continuation(before, text, restarted=False),
                ):
                    yield event
                return
            except LmtuiError as exc:
                if entry.content != before or not prefill_refused(exc):
                    raise
            entry.error = None
            entry.note = FALLBACK_NOTE
        request = self.build_request(extra=(Message("user", CONTINUE_PROMPT),))
        async for event in self._reply(
            request,
            into=entry,
            shape_first=lambda text: join_continuation(before, text, restarted=True),
        ):
            yield event

    def delete(self, index: int) -> None:
        """Remove one message from the conversation (and history)."""
        entry = self.entries.pop(index)
        if entry.message_id is not None and self.history is not None:
            self._history_call("delete", self.history.delete_message, entry.message_id)

    def _drop_from(self, index: int) -> None:
        while len(self.entries) > index:
            self.delete(len(self.entries) - 1)

    async def _reply(
        self,
        request: ChatRequest,
        *,
        into: Entry | None = None,
        shape_first: Callable[[str], str] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream one reply into an entry, persisting it as it grows.

        ``shape_first`` rewrites the first piece of visible text (a continuation's seam).
        """
        if into is None:
            entry = Entry("assistant", "", model_requested=request.model, state=STREAMING)
            self.entries.append(entry)
        else:
            entry = into
            entry.state = STREAMING
        writer: ReplyWriter | None = None
        if self.history is not None and self.conversation_id is not None:
            if into is not None and entry.message_id is not None:
                # Continuing: the continuation goes into the same stored message.
                self._history_call(
                    "continue", self.history.update_message, entry.message_id, state=STREAMING
                )
            else:
                writer = self._history_call(
                    "start reply",
                    self.history.begin_reply,
                    self.conversation_id,
                    model_requested=request.model,
                    preset=self.preset,
                    params=request.params.to_json(),
                    server=self.server_label,
                )
                if writer is not None:
                    entry.message_id = writer.message_id
        entry.request_json = request.to_json(stream=True)
        text = _TextGrowth(entry)
        finished = False
        try:
            async for event in self.client.stream_chat(request):
                if shape_first is not None and isinstance(event, ContentDelta):
                    event = ContentDelta(shape_first(event.text))
                    shape_first = None
                if isinstance(event, ContentDelta | ReasoningDelta):
                    text.add(event)
                else:
                    text.fold()
                    _apply(entry, event)
                if writer is not None:
                    if isinstance(event, ContentDelta):
                        writer.append(content=event.text)
                    elif isinstance(event, ReasoningDelta):
                        writer.append(reasoning=event.text)
                    elif isinstance(event, ModelUsed):
                        writer.set_model_used(event.model)
                if isinstance(event, Finish):
                    entry.state = (
                        COMPLETE if event.reason != FinishReason.INTERRUPTED else INTERRUPTED
                    )
                    finished = True
                    self._persist_end(entry, writer)
                yield event
        except LmtuiError as exc:
            text.fold()
            entry.state = ERROR if not entry.content else INTERRUPTED
            entry.error = exc.message
            entry.finish_reason = entry.finish_reason or FinishReason.ERROR
            finished = True
            self._persist_end(entry, writer)
            raise
        finally:
            text.fold()
            if not finished:
                # The consumer stopped us (Esc, Ctrl+C, task cancelled): keep the partial reply.
                entry.state = STOPPED
                entry.finish_reason = FinishReason.STOPPED
                self._persist_end(entry, writer)

    def _persist_end(self, entry: Entry, writer: ReplyWriter | None) -> None:
        reason = entry.finish_reason.value if entry.finish_reason else None
        usage = asdict(entry.usage) if entry.usage else None
        if writer is not None:
            self._history_call(
                "finish reply",
                writer.finish,
                entry.state,
                finish_reason=reason,
                usage=usage,
                timings=entry.timings_json(),
                error=entry.error,
            )
            if writer.error:
                self.history_error = writer.error
        elif entry.message_id is not None and self.history is not None:
            self._history_call(
                "finish reply",
                self.history.update_message,
                entry.message_id,
                content=entry.content,
                reasoning=entry.reasoning,
                state=entry.state,
                finish_reason=reason,
                usage=usage,
                timings=entry.timings_json(),
                error=entry.error,
            )


class _TextGrowth:
    """Deltas gathered for an entry and folded into its text in growing steps.

    Adding each delta to ``Entry.content`` copies the whole text every time: quadratic,
    minutes for a multi-megabyte reply. Folding only when the gathered text reaches an
    eighth of what is there keeps the copying linear; meanwhile ``content`` trails the
    stream by at most that much, and it is exact at every finish, error and stop.
    """

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.size = 0

    def add(self, event: ContentDelta | ReasoningDelta) -> None:
        """Take one delta; fold when enough has gathered."""
        (self.content if isinstance(event, ContentDelta) else self.reasoning).append(event.text)
        self.size += len(event.text)
        if self.size * 8 >= len(self.entry.content) + len(self.entry.reasoning):
            self.fold()

    def fold(self) -> None:
        """Bring the entry's text up to date."""
        if self.content:
            self.entry.content += "".join(self.content)
            self.content.clear()
        if self.reasoning:
            self.entry.reasoning += "".join(self.reasoning)
            self.reasoning.clear()
        self.size = 0


def _apply(entry: Entry, event: StreamEvent) -> None:
    if isinstance(event, ContentDelta):
        entry.content += event.text
    elif isinstance(event, ReasoningDelta):
        entry.reasoning += event.text
    elif isinstance(event, ModelUsed):
        entry.model_used = event.model
    elif isinstance(event, UsageReport):
        entry.usage = event.usage
    elif isinstance(event, TimingsReport):
        entry.server_timings = event.timings
    elif isinstance(event, Finish):
        entry.finish_reason = event.reason
        entry.client_timings = event.timings
        entry.detail = event.detail


def entry_from_record(record: MessageRecord) -> Entry:
    """An :class:`Entry` for a message loaded from history."""
    usage = Usage.from_json(record.usage) if record.usage else None
    reason = FinishReason.parse(record.finish_reason) if record.finish_reason else None
    return Entry(
        role=record.role,
        content=record.content,
        reasoning=record.reasoning,
        message_id=record.id,
        model_requested=record.model_requested,
        model_used=record.model_used,
        finish_reason=reason,
        usage=usage,
        state=record.state,
        error=record.error,
        created=record.created,
    )
