"""A conversation with custom tools: the model calls, the user (or the preset) answers.

One reply may end in tool calls (``finish_reason: "tool_calls"``). Each call is
answered — by text the user types or pastes, by the preset's canned ``result``,
or by the tool's bound command once the user confirmed its exact argv — and
:meth:`ToolConversation.resume` sends the assistant's calls and one ``tool``
message per answer, streaming the model's follow-up. A call with malformed
arguments or naming an unknown tool is marked, never a crash: the user can still
answer it by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError
from lmtui.backend.tool_calls import (
    AssembledCall,
    AssistantToolCallsMessage,
    ToolCallAssembler,
    ToolChatRequest,
    ToolResultMessage,
)
from lmtui.backend.types import (
    JSON,
    ContentDelta,
    Finish,
    FinishReason,
    Message,
    ModelUsed,
    SamplingParams,
    StreamEvent,
    ToolCall,
    ToolCallFragments,
)
from lmtui.services.tool_commands import CommandResult, Confirm, run_confirmed
from lmtui.store.preset_tools import PresetTool
from lmtui.store.row_ref import RowRef

if TYPE_CHECKING:
    from lmtui.store.history import HistoryStore, WriteQueue


class ToolCallsPending(LmtuiError):
    """The conversation cannot go on until every tool call has an answer."""

    exit_code = 2
    kind = "tool_calls_pending"


@dataclass(slots=True)
class PendingCall:
    """One call of the model's last reply, and its answer once given."""

    call: AssembledCall
    tool: PresetTool | None
    arguments: JSON | None
    problem: str = ""  # why the call is marked (malformed arguments, unknown tool)
    answer: str | None = None
    source: str = ""  # "typed", "canned", "command"

    @property
    def can_run(self) -> bool:
        """True when a bound command could run for this call (after confirmation)."""
        return self.tool is not None and bool(self.tool.command) and self.arguments is not None


@dataclass(slots=True)
class Turn:
    """One reply of the model: its text and the calls it made."""

    content: str = ""
    calls: list[PendingCall] = field(default_factory=list)
    finish: FinishReason | None = None
    model: str | None = None  # as the server reported it
    message_id: int | None = None  # in the history, once saved
    row: RowRef | None = None  # in the history, also while its insert is queued


class ToolConversation:
    """Messages, the tools offered, and the calls waiting for answers."""

    def __init__(
        self,
        client: LMStudioClient,
        model: str,
        tools: Sequence[PresetTool],
        *,
        system_prompt: str = "",
        params: SamplingParams | None = None,
        history: HistoryStore | None = None,
        preset: str | None = None,
        writes: WriteQueue | None = None,
    ) -> None:
        self.client = client
        self.history = history
        #: Where history writes go (the TUI's worker thread, writing to ``history``'s
        #: database); None: written inline.
        self.writes = writes
        self.preset = preset
        self._conversation: RowRef | None = None
        self.history_error: str | None = None  # why the history is not being written
        self.model = model
        self.tools = {t.name: t for t in tools}
        self.params = params or SamplingParams()
        self.messages: list[Message] = []
        if system_prompt:
            self.messages.append(Message("system", system_prompt))
        self.turn = Turn()

    # -- sending

    def send(self, text: str) -> AsyncIterator[StreamEvent]:
        """Add a user message and stream the reply."""
        self._require_answered()
        self.messages.append(Message("user", text))
        self._save("user", text)
        return self._reply()

    def resume(self) -> AsyncIterator[StreamEvent]:
        """Send the answers to the last reply's calls and stream the model's follow-up."""
        self._require_answered()
        if not self.turn.calls:
            raise ToolCallsPending("The last reply made no tool calls to answer.")
        self._save_calls(self.turn)
        self.messages.append(
            AssistantToolCallsMessage(
                "assistant", self.turn.content, tool_calls=tuple(p.call for p in self.turn.calls)
            )
        )
        for pending in self.turn.calls:
            assert pending.answer is not None
            self.messages.append(
                ToolResultMessage("tool", pending.answer, tool_call_id=pending.call.id)
            )
        return self._reply()

    async def _reply(self) -> AsyncIterator[StreamEvent]:
        request = ToolChatRequest(
            self.model,
            tuple(self.messages),
            self.params,
            tools=tuple(t.to_request() for t in self.tools.values()),
        )
        assembler = ToolCallAssembler()
        turn = Turn()
        self.turn = turn
        async for event in self.client.stream_chat(request):
            if isinstance(event, ToolCallFragments):
                assembler.feed(list(event.fragments))
            elif isinstance(event, ContentDelta):
                turn.content += event.text
            elif isinstance(event, ModelUsed):
                turn.model = event.model
            elif isinstance(event, Finish):
                turn.finish = event.reason
                turn.calls = [self._pending(c) for c in assembler.calls()]
            yield event
        if not turn.calls:
            self.messages.append(Message("assistant", turn.content))
        turn.row = self._save(
            "assistant",
            turn.content,
            model_requested=self.model,
            model_used=turn.model,
            finish_reason=turn.finish.value if turn.finish else None,
        )
        turn.message_id = turn.row.id if turn.row is not None else None
        if turn.calls:
            self._save_calls(turn)

    def _pending(self, call: AssembledCall) -> PendingCall:
        tool = self.tools.get(call.name)
        arguments, problem = call.parsed_arguments()
        if tool is None:
            problem = f"the model called '{call.name}', a tool this preset does not define"
        return PendingCall(call, tool, arguments, problem)

    # -- answering

    def pending(self, call_id: str) -> PendingCall:
        """The call with this id in the last reply."""
        for p in self.turn.calls:
            if p.call.id == call_id:
                return p
        raise LmtuiError(f"No tool call {call_id} in the last reply.")

    def answer(self, call_id: str, text: str, source: str = "typed") -> None:
        """Answer one call with ``text`` (typed or pasted by the user)."""
        p = self.pending(call_id)
        p.answer, p.source = text, source

    def answer_canned(self, call_id: str) -> bool:
        """Answer with the preset's canned result; False when the tool has none."""
        p = self.pending(call_id)
        if p.tool is None or p.tool.result is None:
            return False
        p.answer, p.source = p.tool.result, "canned"
        return True

    async def run_bound(self, call_id: str, confirm: Confirm) -> CommandResult | None:
        """Run the tool's command for this call if ``confirm(argv)`` says yes; answer with
        its output. None (and no answer) when declined."""
        p = self.pending(call_id)
        if p.tool is None or p.arguments is None or not p.tool.command:
            raise LmtuiError(
                f"Tool call {call_id} cannot run a command ({p.problem or 'no command bound'}).",
                "Answer it by hand.",
            )
        result = await run_confirmed(p.tool, p.arguments, confirm)
        if result is not None:
            p.answer, p.source = result.as_tool_result(), "command"
        return result

    # -- history

    @property
    def conversation_id(self) -> int | None:
        """The conversation's id in history: None when not saved, or while queued."""
        return None if self._conversation is None else self._conversation.id

    def _history_call(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Write to the history; a failure is remembered and said, never raised."""
        if self.history is None or self.history_error is not None:
            return None
        try:
            return fn(*args, **kw)
        except LmtuiError as exc:
            self.history_error = f"history is not being saved ({what}): {exc.message}"
            return None

    def _save(self, role: str, content: str, **kw: Any) -> RowRef | None:
        """Save one message (queued on ``writes`` when given); its row, or None."""
        if self.history is None:
            return None
        if self.writes is not None:
            return self._queue(role, content, **kw)
        if self._conversation is None:
            title = self.history.auto_title(content) if role == "user" else None
            cid = self._history_call(
                "new conversation",
                self.history.create_conversation,
                title,
                model=self.model,
                preset=self.preset,
                server=self.client.base_url,
            )
            if cid is None:
                return None
            self._conversation = RowRef(cid, "conversation")
        result: int | None = self._history_call(
            "message", self.history.add_message, self.conversation_id, role, content, **kw
        )
        return None if result is None else RowRef(result, "message")

    def _queue(self, role: str, content: str, **kw: Any) -> RowRef:
        """Queue the message's insert (and the conversation's, first) on the worker."""
        assert self.writes is not None and self.history is not None
        if self._conversation is None:
            title = self.history.auto_title(content) if role == "user" else None
            conversation = self._conversation = RowRef(what="conversation")
            model, preset, server = self.model, self.preset, self.client.base_url
            self.writes.submit(
                "new conversation",
                lambda s: conversation.set(
                    s.create_conversation(title, model=model, preset=preset, server=server)
                ),
            )
        conversation, row = self._conversation, RowRef(what="message")
        self.writes.submit(
            "message",
            lambda s: row.set(s.add_message(conversation.require(), role, content, **kw)),
        )
        return row

    def _save_calls(self, turn: Turn) -> None:
        """Keep the reply's calls, with their answers so far, on its history message."""
        row = turn.row
        if self.history is None or row is None:
            return
        from lmtui.store.history_native import ReplyFacts

        calls = tuple(
            ToolCall(
                id=p.call.id,
                name=p.call.name,
                arguments=p.call.arguments,
                provider="model",
                output=p.answer,
                failure=p.problem or None if p.answer is None else None,
            )
            for p in turn.calls
        )
        facts = ReplyFacts(route="custom tools", tool_calls=calls)
        if self.writes is not None:
            self.writes.submit("tool calls", lambda s: s.save_reply_facts(row.require(), facts))
            return
        self._history_call("tool calls", self.history.save_reply_facts, row.require(), facts)

    def _require_answered(self) -> None:
        missing = [p.call.id for p in self.turn.calls if p.answer is None]
        if missing:
            raise ToolCallsPending(
                f"{len(missing)} tool call(s) still need an answer: {', '.join(missing)}.",
                "Answer each call (type a result, use the canned one, or run its command).",
            )
