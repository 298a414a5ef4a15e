"""One conversation: build requests, stream replies, persist them as they grow.

Shared by the TUI and ``lmtui ask``. History is optional: when the store cannot
be written (full disk, locked database) the conversation goes on in memory and
``history_error`` says why.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lmtui.backend.errors import LmtuiError
from lmtui.backend.native_chat import Integration, NativeChatRequest, Reasoning
from lmtui.backend.types import (
    ApiLevel,
    ChatRequest,
    ClientTimings,
    ContentDelta,
    ContentWasReasoning,
    Finish,
    FinishReason,
    Message,
    ModelUsed,
    ReasoningDelta,
    ReplyExtras,
    ReplyFold,
    RouteReport,
    SamplingParams,
    ServerKind,
    ServerTimings,
    StreamEvent,
    Usage,
)
from lmtui.services.continuation import (
    CONTINUE_PROMPT,
    FALLBACK_NOTE,
    join_continuation,
    prefill_refused,
)
from lmtui.services.load_wait import LoadWait, waiting_for_load
from lmtui.services.native_route import (
    NativeMode,
    Turn,
    choose_route,
    native_chat_missing,
    reasoning_effort,
    routed_stream,
)
from lmtui.services.reply_extras import answer_check, extras_from_facts, facts_of
from lmtui.store.row_ref import RowRef

if TYPE_CHECKING:
    import asyncio

    from lmtui.backend.client import LMStudioClient
    from lmtui.services.native_route import Route
    from lmtui.services.repetition import Repetition, RepetitionDetector
    from lmtui.store.history import HistoryStore, MessageRecord, ReplyWriter
    from lmtui.store.write_worker import WriteWorker

REPEATING = "⚠ this reply is repeating itself — Esc stops it"
REPEATING_STOPPED = "stopped automatically: the reply was repeating itself"


class EntryState(StrEnum):
    """Where a message stands; the values are the ones history stores."""

    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @classmethod
    def parse(cls, value: str) -> EntryState:
        """The state stored as ``value``; an unknown one reads as interrupted."""
        try:
            return cls(value)
        except ValueError:
            return cls.INTERRUPTED


# The states by their short names, for callers that import them so.
COMPLETE = EntryState.COMPLETE
STREAMING = EntryState.STREAMING
STOPPED = EntryState.STOPPED
INTERRUPTED = EntryState.INTERRUPTED
ERROR = EntryState.ERROR


@dataclass(slots=True)
class Entry(ReplyFold):
    """One message of the conversation as the UI shows it; a reply folds its stream in.

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
    state: EntryState = EntryState.COMPLETE
    error: str | None = None
    detail: str = ""
    note: str = ""  # lmtui's own word on how the reply was made (a continue's fallback)
    repetition: Repetition | None = None  # set while streaming once the reply loops
    created: float = field(default_factory=time.time)
    request_json: dict[str, Any] | None = None  # exactly what was sent, for the inspector
    extras: ReplyExtras = field(default_factory=ReplyExtras)  # route, progress, tools, stats
    response_server: str | None = None  # the server whose response id ``extras`` holds
    answer_note: str | None = None  # where the answer went, when not where expected
    #: The stored row, also while the history worker has yet to insert it (see RowRef).
    row: RowRef | None = field(default=None, repr=False, compare=False)

    # ReplyFold's fold and endings, plus the entry's state. (Called through the class:
    # a slots dataclass cannot use a bare super().)
    def apply(self, event: StreamEvent) -> None:
        """Fold one stream event in; the ``Finish`` event also settles the state."""
        ReplyFold.apply(self, event)
        if isinstance(event, Finish):
            ended_early = event.reason is FinishReason.INTERRUPTED
            self.state = EntryState.INTERRUPTED if ended_early else EntryState.COMPLETE

    def fail(self, message: str) -> None:
        """The stream raised: an error, or an interrupted reply when some text came."""
        ReplyFold.fail(self, message)
        self.state = EntryState.INTERRUPTED if self.content else EntryState.ERROR

    def stop(self) -> None:
        """The reader stopped the stream: the partial reply stays, marked stopped."""
        ReplyFold.stop(self)
        self.state = EntryState.STOPPED

    def timings_json(self) -> dict[str, Any] | None:
        """Client and server timings as one JSON-able mapping."""
        out: dict[str, Any] = {}
        if self.client_timings is not None:
            out["client"] = asdict(self.client_timings)
        if self.server_timings is not None:
            out["server"] = asdict(self.server_timings)
        return out or None


class Reply:
    """A reply that has begun: its entry, already in the conversation, and its events.

    ``send``, ``regenerate``, ``edit_and_resend`` and ``continue_reply`` return one at
    once, so the caller can show ``entry`` before any event arrives. Iterate it once
    (``async for event in reply``) to run the request; the entry grows as events come.
    :meth:`start` sends the request before that, while the caller is still showing the
    entry. ``aclose()`` stops it: the partial reply is kept and saved, marked stopped.
    """

    def __init__(
        self,
        entry: Entry,
        events: AsyncGenerator[StreamEvent, None],
        on_never_started: Callable[[], None],
    ) -> None:
        self.entry = entry
        self._events = events
        self._on_never_started = on_never_started
        #: The entry's text and reasoning before any event: what the events add to.
        #: Show this, not the entry (which :meth:`start` may already have grown).
        self.before = (entry.content, entry.reasoning)
        self._opening: asyncio.Task[list[StreamEvent]] | None = None
        self._reader: AsyncGenerator[StreamEvent, None] | None = None

    def start(self) -> None:
        """Send the request now, reading up to the server's first event, which is kept.

        Showing the entry (mounting widgets, a paint) took 10-20 ms before the request
        left; started first, the server works meanwhile. Idempotent.
        """
        import asyncio  # here: `lmtui ask` never loads asyncio

        if self._opening is None and self._reader is None:
            self._opening = asyncio.ensure_future(self._open())

    async def _open(self) -> list[StreamEvent]:
        """The events up to and including the first one from the server."""
        read: list[StreamEvent] = []
        async for event in self._events:
            read.append(event)
            if not isinstance(event, RouteReport):
                break  # the request is answered: the rest is the reader's
        return read

    def __aiter__(self) -> AsyncGenerator[StreamEvent, None]:
        if self._opening is None:
            return self._events
        self._reader = self._after_opening(self._opening)
        self._opening = None
        return self._reader

    async def _after_opening(
        self, opening: asyncio.Task[list[StreamEvent]]
    ) -> AsyncGenerator[StreamEvent, None]:
        for event in await opening:
            yield event
        async for event in self._events:
            yield event

    async def aclose(self) -> None:
        """Stop the reply (a no-op once it has ended)."""
        opening, self._opening = self._opening, None
        if opening is not None:
            import asyncio

            opening.cancel()  # started, never read: its request stops like any other
            await asyncio.wait([opening])  # (our own cancellation still goes through)
            if not opening.cancelled():
                opening.exception()  # what it raised was never asked for
        if self._reader is not None:
            await self._reader.aclose()
        await self._events.aclose()
        if self.entry.state is EntryState.STREAMING:
            # Closed before its first event was asked for: the request never went out.
            self._on_never_started()


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
        self.stop_repeating = False  # stop a reply as soon as it is seen looping
        #: Watch replies for loops (``Entry.repetition``); a caller that never shows or
        #: acts on it (``lmtui ask``) turns it off: the check is most of a long reply's CPU.
        self.watch_repetition = True
        self.entries: list[Entry] = []
        self._conversation: RowRef | None = None
        self.title: str | None = None
        #: How a reply waits for a server still loading its model (services/load_wait.py).
        self.load_wait = LoadWait()
        self.history_error: str | None = None
        #: Where history writes go (a thread), inserts too; None: written inline.
        self.writes: WriteWorker | None = None
        #: Called on the worker thread with the id once a queued new conversation is saved.
        self.on_conversation_saved: Callable[[int], None] | None = None
        #: LM Studio's /api/v1/chat: "auto" uses it when the server offers it.
        self.native_mode: NativeMode = "auto"
        #: off / low / medium / high / on, or None for the model's default.
        self.reasoning: Reasoning | None = None
        #: LM Studio integrations (MCP) sent with native turns.
        self.integrations: tuple[Integration, ...] = ()

    # ---- history --------------------------------------------------------------

    @property
    def conversation_id(self) -> int | None:
        """The conversation's id in history: None when not saved, or while queued."""
        return None if self._conversation is None else self._conversation.id

    @conversation_id.setter
    def conversation_id(self, value: int | None) -> None:
        self._conversation = None if value is None else RowRef(value, "conversation")

    @property
    def conversation_queued(self) -> bool:
        """True while the conversation's insert waits in the history worker."""
        return self._conversation is not None and self._conversation.id is None

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

    def _history_write(
        self, what: str, row: RowRef, job: Callable[[HistoryStore, int], object]
    ) -> None:
        """Write to one stored message (``job(store, message_id)``): on the worker, else now.

        Jobs for the same message share a key, so a newer one replaces one still waiting.
        """
        if self.history is None:
            return
        if self.writes is None:
            if row.id is not None:
                self._history_call(what, job, self.history, row.id)
            return
        self.writes.submit(what, lambda s: job(s, row.require()), key=("message", row))

    @staticmethod
    def _row_of(entry: Entry) -> RowRef | None:
        """The entry's stored row (queued or saved), or None when it is not in history."""
        if entry.row is None and entry.message_id is not None:
            entry.row = RowRef(entry.message_id, "message")
        return entry.row

    def _queue_message(self, what: str, entry: Entry, role: str, content: str, **kw: Any) -> None:
        """Queue the insert of ``entry``'s message on the worker; its id follows when saved."""
        assert self.writes is not None and self._conversation is not None
        conversation, row = self._conversation, RowRef(what="message")
        entry.row = row

        def insert(store: HistoryStore) -> None:
            message_id = row.set(store.add_message(conversation.require(), role, content, **kw))
            _saved(entry, row, message_id)

        self.writes.submit(what, insert)

    def _ensure_conversation(self, first_prompt: str) -> None:
        if self._conversation is not None or self.history is None:
            return
        title = self.history.auto_title(first_prompt)
        self.title = title
        if self.writes is not None:
            # Queued like every TUI write: Enter never waits on a locked database.
            row = self._conversation = RowRef(what="conversation")
            model, preset, server = self.model, self.preset, self.server_label
            saved = self.on_conversation_saved

            def create(store: HistoryStore) -> None:
                cid = row.set(
                    store.create_conversation(title, model=model, preset=preset, server=server)
                )
                if saved is not None:
                    saved(cid)

            self.writes.submit("create conversation", create)
            return
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
        caps = self.client.capabilities
        # Only LM Studio is known to take reasoning_effort on /v1/chat/completions.
        lmstudio = caps is not None and caps.kind is ServerKind.LMSTUDIO
        effort = reasoning_effort(self.reasoning) if lmstudio else None
        return ChatRequest(self.model, tuple(messages), self.params, effort)

    # ---- operations -----------------------------------------------------------

    def send(self, text: str, images: tuple[str, ...] = ()) -> Reply:
        """Add a user message (``images``: data URLs) and start the reply to it."""
        return self._reply(self._add_prompt(text, images))

    def _add_prompt(self, text: str, images: tuple[str, ...]) -> ChatRequest:
        """Add (and store) a user message; return the request that answers it."""
        self._ensure_conversation(text)
        user = Entry("user", text, images=images)
        self.entries.append(user)
        attachments = tuple(f"image:{len(i)} bytes" for i in images)
        if self._conversation is not None and self.writes is not None:
            self._queue_message("save prompt", user, "user", text, attachments=attachments)
        elif self.conversation_id is not None and self.history is not None:
            user.message_id = self._history_call(
                "save prompt",
                self.history.add_message,
                self.conversation_id,
                "user",
                text,
                attachments=attachments,
            )
        return self.build_request()

    def regenerate(self) -> Reply:
        """Drop the last reply and start a new one to the same prompt."""
        if self.entries and self.entries[-1].role == "assistant":
            self._drop_from(len(self.entries) - 1)
        if not self.entries or self.entries[-1].role != "user":
            raise LmtuiError("There is no prompt to regenerate a reply for.")
        return self._reply(self.build_request())

    def edit_and_resend(self, index: int, text: str) -> Reply:
        """Replace user message ``index`` by ``text``, drop everything after it, ask again."""
        entry = self.entries[index]
        if entry.role != "user":
            raise LmtuiError("Only your own messages can be edited.")
        self._drop_from(index + 1)
        old_text, entry.content = entry.content, text
        row = self._row_of(entry)
        if row is not None:
            self._history_write(
                "save edit", row, lambda s, mid: s.update_message(mid, content=text)
            )
        self._retitle_after_edit(entry, old_text)
        return self._reply(self.build_request())

    def _retitle_after_edit(self, entry: Entry, old_text: str) -> None:
        """A title made from the first prompt follows that prompt's edit; a chosen one stays."""
        history, conversation, cid = self.history, self._conversation, self.conversation_id
        if history is None or conversation is None:
            return
        first = next((e for e in self.entries if e.role == "user"), None)
        if first is not entry:
            return
        summary = None
        if cid is not None:  # a read: never blocked by another process's write lock (WAL)
            summary = self._history_call("read title", history.get_conversation, cid)
        current = summary[0].title if summary is not None else self.title
        if current != history.auto_title(old_text):  # renamed by the user: theirs stays
            return
        title = history.auto_title(entry.content)
        if title and title != current:
            if self.writes is not None:
                self.writes.submit("retitle", lambda s: s.rename(conversation.require(), title))
            elif cid is not None:
                self._history_call("retitle", history.rename, cid, title)
            self.title = title

    def continue_reply(self) -> Reply:
        """Continue the last reply (after it ended on ``length`` or was stopped), in place.

        The partial reply goes last, as the assistant's own text, so the server
        extends it; where the server refuses that, a user turn asks the model to go
        on and the entry's ``note`` says so (see ``services.continuation``).
        """
        if not self.entries or self.entries[-1].role != "assistant":
            raise LmtuiError("There is no reply to continue.")
        entry = self.entries[-1]
        before = entry.content
        if not before:  # cut while still reasoning: nothing of the answer to extend
            return self._reply(self._continue_prompt_request(), into=entry, restarted=True)
        request = self.build_request()
        return self._reply(request, into=entry, events=self._continue(request, entry, before))

    def _continue_prompt_request(self) -> ChatRequest:
        return self.build_request(extra=(Message("user", CONTINUE_PROMPT),))

    async def _continue(
        self, request: ChatRequest, entry: Entry, before: str
    ) -> AsyncGenerator[StreamEvent, None]:
        """Extend ``entry`` from its own text; fall back to a user turn if that is refused."""
        try:
            async for event in self._stream(request, entry, True, restarted=False):
                yield event
            return
        except LmtuiError as exc:
            if entry.content != before or not prefill_refused(exc):
                raise
        entry.error = None
        entry.note = FALLBACK_NOTE
        entry.state = EntryState.STREAMING
        fallback = self._continue_prompt_request()
        entry.request_json = fallback.to_json(stream=True)
        async for event in self._stream(fallback, entry, True, restarted=True):
            yield event

    def delete(self, index: int) -> None:
        """Remove one message from the conversation (and history)."""
        entry = self.entries.pop(index)
        row = self._row_of(entry)
        if row is not None:
            self._history_write("delete", row, lambda s, mid: s.delete_message(mid))

    def _drop_from(self, index: int) -> None:
        while len(self.entries) > index:
            self.delete(len(self.entries) - 1)

    def _reply(
        self,
        request: ChatRequest,
        *,
        into: Entry | None = None,
        restarted: bool = True,
        events: AsyncGenerator[StreamEvent, None] | None = None,
    ) -> Reply:
        """Start one reply: a new entry at the end, or ``into`` (continuing it).

        ``restarted`` (when continuing): the model was asked anew, so the seam may
        need a space; ``events`` replaces the plain stream (a continuation's fallback).
        """
        entry = self._start_entry(request, into)
        continuing = into is not None

        def never_started() -> None:
            entry.stop()
            if continuing:
                self._persist_end(entry, None)

        if events is None:
            events = self._stream(request, entry, continuing, restarted=restarted)
        return Reply(entry, events, never_started)

    def _begin_writer(
        self, request: ChatRequest, entry: Entry, continuing: bool
    ) -> ReplyWriter | None:
        """Start storing a new reply (None: no history, or a continuation, stored in place).

        With a write worker the reply's row is queued on it (Enter never waits on the
        database); without one (``lmtui ask``) it is inserted here.
        """
        if self.history is None or self._conversation is None:
            return None
        row = self._row_of(entry) if continuing else None
        if row is not None:
            # Continuing: the continuation goes into the same stored message.
            self._history_write(
                "continue", row, lambda s, mid: s.update_message(mid, state=STREAMING)
            )
            return None
        if self.writes is not None:
            return self._queue_reply(entry, request)
        writer: ReplyWriter | None = self._history_call(
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
        return writer

    def _start_entry(self, request: ChatRequest, into: Entry | None = None) -> Entry:
        """The entry a reply streams into: a new one at the end, or ``into``, marked streaming."""
        if into is None:
            entry = Entry("assistant", "", model_requested=request.model)
            self.entries.append(entry)
        else:
            entry = into
        entry.state = EntryState.STREAMING
        entry.request_json = request.to_json(stream=True)
        return entry

    async def _stream(
        self, request: ChatRequest, entry: Entry, continuing: bool, *, restarted: bool = True
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream one reply into ``entry``, persisting it as it grows (see :class:`ReplyRun`).

        Its synchronous twin is ``SyncChatSession._stream_sync`` (services/chat_sync.py).
        """
        run = ReplyRun(self, request, entry, continuing, restarted=restarted)
        stream: AsyncGenerator[StreamEvent, None] | None = None
        try:
            # Routed once; a server still loading its model gets the same request again.
            stream = waiting_for_load(
                await self._routed(request, entry, continuing), self.load_wait
            )
            run.begin()
            async for event in stream:
                yield run.take(event)
                if run.should_stop():
                    break  # the finally keeps the reply so far, marked stopped
        except LmtuiError as exc:
            run.failed(exc)
            raise
        finally:
            if stream is not None:
                await stream.aclose()  # closes the connection when we stop early
            run.closed()

    async def _routed(
        self, request: ChatRequest, entry: Entry, continuing: bool
    ) -> Callable[[], AsyncGenerator[StreamEvent, None]]:
        """What opens the reply's stream on the transport :func:`choose_route` picks."""
        has_native = False
        if self._may_go_native():
            try:
                has_native = (await self.client.detect()).has(ApiLevel.NATIVE_V1)
            except LmtuiError as exc:
                has_native = self._native_unknown(exc)
        route, native = self._route(request, entry, continuing, has_native)
        return lambda: routed_stream(self.client, route, native, request)

    def _may_go_native(self) -> bool:
        """Whether asking the server for /api/v1 could change the route."""
        return self.native_mode != "off" and not native_chat_missing(self.client)

    def _native_unknown(self, exc: LmtuiError) -> bool:
        """Detection failed: raise it when native was asked for, else take the OpenAI path."""
        if self.native_mode == "on":
            raise exc  # say why the server cannot be asked, not that it lacks /api/v1
        return False  # the request itself reports what is wrong

    def _route(
        self, request: ChatRequest, entry: Entry, continuing: bool, has_native: bool
    ) -> tuple[Route, NativeChatRequest | None]:
        """The route of a reply and, when native, its /api/v1/chat request."""
        # The entries before the new input: continuing chains from the reply itself.
        before = self.entries if continuing else self.entries[:-2]
        new_input = CONTINUE_PROMPT if continuing else self.entries[-2].content
        images = () if continuing else self.entries[-2].images
        route = choose_route(
            mode=self.native_mode,
            has_native=has_native,
            server=self.client.base_url,
            params=request.params,
            before=[
                # The reply being continued is marked streaming already; an id means
                # LM Studio finished it (ids come with chat.end).
                Turn(
                    e.role,
                    COMPLETE if e is entry else e.state,
                    e.extras.response_id,
                    e.response_server,
                )
                for e in before
                if continuing or e is not entry
            ],
        )
        native = None
        if route.native:
            native = NativeChatRequest(
                model=request.model,
                input=new_input,
                images=images,
                # LM Studio keeps the system prompt with the chain; resending it errors.
                system_prompt="" if route.previous_response_id else self.system_prompt,
                previous_response_id=route.previous_response_id,
                params=request.params,
                reasoning=self.reasoning,
                integrations=self.integrations,
            )
            entry.request_json = native.to_json(stream=True, masked=True)
        entry.response_server = self.client.base_url
        return route, native

    def _queue_reply(self, entry: Entry, request: ChatRequest) -> ReplyWriter:
        """The reply's writer, its row's insert queued on the worker (Enter never waits)."""
        from lmtui.store.pending_rows import queue_reply

        assert self.history is not None and self.writes is not None
        assert self._conversation is not None
        row = entry.row = RowRef(what="reply")
        writer = queue_reply(
            self.history,
            self.writes,
            self._conversation,
            row=row,
            on_saved=lambda mid: _saved(entry, row, mid),
            model_requested=request.model,
            preset=self.preset,
            params=request.params.to_json(),
            server=self.server_label,
        )
        return writer

    def _forget_reply(self, entry: Entry, writer: ReplyWriter | None) -> None:
        row = self._row_of(entry)
        if writer is not None and row is not None and self.history is not None:
            writer.finished = True
            self._history_write("drop empty reply", row, lambda s, mid: s.delete_message(mid))
        entry.message_id = None
        entry.row = None

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
        elif (row := self._row_of(entry)) is not None and self.history is not None:
            values: dict[str, Any] = {
                "content": entry.content,
                "reasoning": entry.reasoning,
                "state": entry.state,
                "finish_reason": reason,
                "usage": usage,
                "timings": entry.timings_json(),
                "error": entry.error,
            }
            self._history_write("finish reply", row, lambda s, mid: s.update_message(mid, **values))
        row = self._row_of(entry)
        if row is not None and self.history is not None:
            facts = facts_of(entry.extras, entry.response_server)
            if self.writes is None:
                if row.id is not None:
                    self._history_call(
                        "save reply details", self.history.save_reply_facts, row.id, facts
                    )
            else:  # not keyed: it must follow the reply's own write, not replace it
                self.writes.submit(
                    "save reply details", lambda s: s.save_reply_facts(row.require(), facts)
                )
        if writer is not None and writer.unsaved and writer.error:
            self.history_error = writer.error  # the reply itself matters more than its details


def _saved(entry: Entry, row: RowRef, message_id: int) -> None:
    """The worker saved ``entry``'s row: the entry learns its id (unless it let go of the row)."""
    if entry.row is row:
        entry.message_id = message_id


def _nothing_arrived(entry: Entry) -> bool:
    return not (entry.content or entry.reasoning or entry.extras.tool_calls)


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
            self.entry.apply(ContentDelta("".join(self.content)))
            self.content.clear()
        if self.reasoning:
            self.entry.apply(ReasoningDelta("".join(self.reasoning)))
            self.reasoning.clear()
        self.size = 0


class ReplyRun:
    """The work one reply does per event, shared by the async and the sync turn.

    ``ChatSession._stream`` (async) and ``SyncChatSession._stream_sync``
    (services/chat_sync.py) each only move events: :meth:`begin` once the stream is
    open, :meth:`take` for each event (folded into the entry and its stored row, then
    passed on), :meth:`should_stop` after it, :meth:`failed` when the stream raises a
    typed error, and :meth:`closed` always at the end.
    """

    def __init__(
        self,
        session: ChatSession,
        request: ChatRequest,
        entry: Entry,
        continuing: bool,
        *,
        restarted: bool = True,
    ) -> None:
        # Continuing, the first piece of text is joined to the entry's text (see
        # ``join_continuation``; ``restarted``: the model was asked anew).
        before = entry.content if continuing else ""
        self.shape_first: Callable[[str], str] | None = None
        if before:
            self.shape_first = lambda text: join_continuation(before, text, restarted=restarted)
        self.session = session
        self.request = request
        self.entry = entry
        self.continuing = continuing
        self.writer = session._begin_writer(request, entry, continuing)
        self.text = _TextGrowth(entry)
        self.finished = False
        self.loops: RepetitionDetector | None = None
        if session.watch_repetition:  # `lmtui ask` turns it off, and never loads the module
            from lmtui.services.repetition import RepetitionDetector

            self.loops = RepetitionDetector()

    def begin(self) -> None:
        """The stream is open."""
        # A continuation keeps the reply's tool calls; the rest is about this request.
        self.entry.extras = ReplyExtras(tool_calls=list(self.entry.extras.tool_calls))

    def take(self, event: StreamEvent) -> StreamEvent:
        """Fold ``event`` into the entry and its stored row; return the event to pass on."""
        entry, writer = self.entry, self.writer
        if isinstance(event, ContentDelta):  # by far the most common: first, and short
            if self.shape_first is not None:
                event = ContentDelta(self.shape_first(event.text))
                self.shape_first = None
            if entry.repetition is None and self.loops is not None:
                entry.repetition = self.loops.feed(event.text)
            self.text.add(event)
            if writer is not None:
                writer.append(content=event.text)
            return event
        if isinstance(event, ReasoningDelta):
            self.text.add(event)
            if writer is not None:
                writer.append(reasoning=event.text)
            return event
        self.text.fold()
        entry.apply(event)
        if isinstance(event, RouteReport) and not event.native:
            entry.request_json = self.request.to_json(stream=True)
        if writer is not None:
            if isinstance(event, ContentWasReasoning):
                writer.content_was_reasoning()
            elif isinstance(event, ModelUsed):
                writer.set_model_used(event.model)
        if isinstance(event, Finish):
            self.finished = True
            check = answer_check(entry.content, entry.reasoning)
            entry.answer_note = check.note
            if check.answer is not None:
                # A JSON answer that came as reasoning is the reply's answer.
                entry.content = check.answer
                if writer is not None:
                    writer.append(content=check.answer)
            self.session._persist_end(entry, writer)
        return event

    def should_stop(self) -> bool:
        """True when the reply loops and the session stops looping replies."""
        entry = self.entry
        if entry.repetition is not None and self.session.stop_repeating and not self.finished:
            entry.note = REPEATING_STOPPED
            return True
        return False

    def failed(self, exc: LmtuiError) -> None:
        """The stream raised ``exc``: keep the text, mark the reply failed, store it."""
        self.text.fold()
        self.entry.fail(exc.message)
        self.finished = True
        self.session._persist_end(self.entry, self.writer)

    def closed(self) -> None:
        """The stream is over, however it ended."""
        entry = self.entry
        self.text.fold()
        if not self.finished:
            # The consumer stopped us (Esc, Ctrl+C, task cancelled): keep the partial reply.
            entry.stop()
            if not self.continuing and _nothing_arrived(entry):
                # Stopped during a load or prompt processing: no empty reply is kept.
                self.session._forget_reply(entry, self.writer)
            else:
                self.session._persist_end(entry, self.writer)


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
        state=EntryState.parse(record.state),
        error=record.error,
        created=record.created,
        extras=extras_from_facts(record.facts),
        response_server=record.response_server,
    )
