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

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

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
    SamplingParams,
    StreamEvent,
    ToolCallFragments,
)
from lmtui.services.tool_commands import CommandResult, Confirm, run_confirmed
from lmtui.store.preset_tools import PresetTool


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
    ) -> None:
        self.client = client
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
        return self._reply()

    def resume(self) -> AsyncIterator[StreamEvent]:
        """Send the answers to the last reply's calls and stream the model's follow-up."""
        self._require_answered()
        if not self.turn.calls:
            raise ToolCallsPending("The last reply made no tool calls to answer.")
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
            elif isinstance(event, Finish):
                turn.finish = event.reason
                turn.calls = [self._pending(c) for c in assembler.calls()]
            yield event
        if not turn.calls:
            self.messages.append(Message("assistant", turn.content))

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

    def _require_answered(self) -> None:
        missing = [p.call.id for p in self.turn.calls if p.answer is None]
        if missing:
            raise ToolCallsPending(
                f"{len(missing)} tool call(s) still need an answer: {', '.join(missing)}.",
                "Answer each call (type a result, use the canned one, or run its command).",
            )
