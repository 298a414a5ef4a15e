"""One message of the chat: who said it, the text, the reasoning and a footer of facts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Label, Static

from lmtui.backend.types import (
    ContentWasReasoning,
    FinishReason,
    LoadProgress,
    PromptProgress,
    StreamEvent,
    ToolCall,
    ToolCallEvent,
)
from lmtui.services.chat import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Entry
from lmtui.services.explain import explain_finish
from lmtui.services.reply_extras import server_footer
from lmtui.services.terminal_text import make_inert
from lmtui.ui.keymap import MESSAGE_ACTIONS
from lmtui.ui.markdown_body import MarkdownBody
from lmtui.ui.reply_progress import ReplyProgress
from lmtui.ui.stream_render import StreamRenderer
from lmtui.ui.textual_compat import QuietResize
from lmtui.ui.tool_calls import ToolCallBlock


def describe_footer(entry: Entry, remedy: str | None = None) -> str:
    """The one-line footer of an assistant message: model, finish, tokens, speed."""
    if entry.state == STREAMING:
        return "streaming…  (Esc stops)"
    parts: list[str] = []
    model = entry.model_used or entry.model_requested
    if model:
        parts.append(make_inert(model))
    if entry.state == ERROR:
        text = f"✖ error: {make_inert(entry.error or 'the request failed')}"
        if remedy:
            text += f" — {make_inert(remedy)}"
        return " · ".join([*parts, text])
    if entry.state == STOPPED and not (entry.content or entry.reasoning):
        parts.append("■ stopped before any text came (nothing saved)")
    elif entry.state == STOPPED:
        parts.append("■ stopped (partial reply kept)")
    elif entry.state == INTERRUPTED:
        why = entry.error or entry.detail or "the stream ended early"
        parts.append(f"⚠ interrupted: {make_inert(why)}")
        if remedy:
            parts.append(make_inert(remedy))
    elif entry.finish_reason is not None:
        parts.append(f"finish: {entry.finish_reason.value}")
    tokens: int | None = None
    if entry.usage is not None and entry.usage.completion_tokens:
        tokens = entry.usage.completion_tokens
    elif entry.client_timings is not None:
        tokens = entry.client_timings.delta_count
    if tokens:
        parts.append(f"{tokens} tok")
    ct = entry.client_timings
    if ct is not None and ct.time_to_first_token_s is not None:
        parts.append(f"TTFT {ct.time_to_first_token_s:.2f} s")
    tps = None
    if entry.server_timings is not None and entry.server_timings.tokens_per_second:
        tps = entry.server_timings.tokens_per_second
    elif ct is not None:
        tps = ct.tokens_per_second
    if tps:
        parts.append(f"{tps:.1f} tok/s")
    parts.extend(server_footer(entry.extras))
    if entry.finish_reason == FinishReason.LENGTH:
        parts.append("cut at max_tokens — n continues")
    if entry.answer_note:
        parts.append(f"⚠ {entry.answer_note}")
    return " · ".join(parts)


class MessageWidget(QuietResize, Vertical, can_focus=True):
    """A user prompt or an assistant reply; focus it to act on it."""

    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in MESSAGE_ACTIONS]

    def __init__(self, entry: Entry) -> None:
        role_class = "-user" if entry.role == "user" else "-assistant"
        super().__init__(classes=f"message {role_class}")
        self.entry = entry
        self.remedy: str | None = None
        self._reasoning_static: Static | None = None
        self._reasoning_box: Collapsible | None = None
        self.renderer: StreamRenderer | None = None

    # ---- building -------------------------------------------------------------

    def _role_label(self) -> str:
        if self.entry.role == "user":
            images = len(self.entry.images)
            return f"You  ·  🖼 {images} image(s)" if images else "You"
        model = self.entry.model_used or self.entry.model_requested or ""
        return f"Assistant  ·  {make_inert(model)}" if model else "Assistant"

    def compose(self) -> ComposeResult:
        yield Label(self._role_label(), classes="role")
        if self.entry.role == "user":
            yield Static(Content(make_inert(self.entry.content)), classes="body")
            return
        if self.entry.reasoning:
            yield from self._reasoning_widgets(make_inert(self.entry.reasoning))
        yield from (ToolCallBlock(call) for call in self.entry.extras.tool_calls)
        yield MarkdownBody(make_inert(self.entry.content), classes="body")
        yield Static(self._footer_content(), classes="meta")

    def _reasoning_widgets(self, text: str) -> list[Collapsible]:
        self._reasoning_static = Static(Content(text), classes="reasoning")
        self._reasoning_box = Collapsible(
            self._reasoning_static, title="Reasoning (t shows it)", collapsed=True
        )
        return [self._reasoning_box]

    def _footer_content(self) -> Content:
        return Content(describe_footer(self.entry, self.remedy))

    def on_mount(self) -> None:
        self._refresh_state()

    # ---- streaming ------------------------------------------------------------

    def start_stream(self) -> StreamRenderer:
        """A renderer that feeds this reply's widgets, once per frame."""
        body = self.query_one(".body", MarkdownBody)
        pane = self.parent
        body.streaming(
            True, pane.scrollable_content_region.height if isinstance(pane, Widget) else 0
        )
        self.renderer = StreamRenderer(body, self._set_reasoning)
        self._refresh_state()
        return self.renderer

    def _set_reasoning(self, more: str) -> None:
        if self._reasoning_static is None:
            (box,) = self._reasoning_widgets("")
            self.mount(box, before=self.query_one(".body"))
        assert self._reasoning_static is not None
        self._reasoning_static.update(Content(make_inert(self.entry.reasoning)))

    # ---- what LM Studio's /api/v1/chat tells beyond text -----------------------------

    async def native_event(self, event: StreamEvent) -> None:
        """Show load / prompt progress, a tool call, or reasoning taken back from the answer."""
        if isinstance(event, LoadProgress | PromptProgress):
            self._progress_line().show(self.entry.extras)
        elif isinstance(event, ToolCallEvent):
            await self._show_tool_call(event.call)
        elif isinstance(event, ContentWasReasoning):
            # A close-only </think>: the answer drawn so far was reasoning.
            if self.renderer is not None:
                self.renderer.discard_content()
            await self.query_one(".body", MarkdownBody).set_text(make_inert(self.entry.content))
            self._set_reasoning("")

    def _progress_line(self) -> ReplyProgress:
        found = self.query(ReplyProgress)
        if found:
            return found.first()
        line = ReplyProgress(self.entry.extras, classes="progress")
        self.mount(line, before=self.query_one(".body"))
        return line

    async def _show_tool_call(self, call: ToolCall) -> None:
        for block in self.query(ToolCallBlock):
            if block.call.id == call.id:
                block.update_call(call)
                return
        await self.mount(ToolCallBlock(call), before=self.query_one(".body"))

    def toggle_tool_calls(self) -> bool:
        """Open all tool-call blocks, or close them when all are open; False when none."""
        blocks = list(self.query(ToolCallBlock))
        if not blocks:
            return False
        collapse = all(not b.collapsed for b in blocks)
        for block in blocks:
            block.collapsed = collapse
        return True

    async def finish_stream(self) -> None:
        """Draw what is left and show the final state."""
        for line in self.query(ReplyProgress):
            line.stop()
        self._refresh_state()
        self.query_one(".role", Label).update(self._role_label())
        if self.renderer is None:
            return
        await self.renderer.drain()
        self.renderer = None
        body = self.query_one(".body", MarkdownBody)
        if body.finish():
            # A fast reply scrolled past chunks never painted: draw them a turn at a
            # time, then settle to the exact height in one layout.
            self.run_worker(body.settle(), group="render-all", exit_on_error=False)
        else:
            await body.settle()

    # ---- state ----------------------------------------------------------------

    def _refresh_state(self) -> None:
        for state in (STREAMING, STOPPED, INTERRUPTED, ERROR, COMPLETE):
            self.set_class(self.entry.state == state, f"-{state}")
        if self.entry.role != "assistant":
            return
        meta = self.query(".meta")
        if meta:
            meta.first(Static).update(self._footer_content())
        if self.entry.finish_reason is not None and self.entry.state != STREAMING:
            self.tooltip = explain_finish(self.entry.finish_reason)

    def refresh_state(self) -> None:
        """Redraw the footer and state classes after the entry changed."""
        self._refresh_state()

    async def reload(self) -> None:
        """Redraw the text from the entry (after an edit)."""
        body = self.query_one(".body")
        if isinstance(body, MarkdownBody):
            await body.set_text(make_inert(self.entry.content))
        elif isinstance(body, Static):
            body.update(Content(make_inert(self.entry.content)))
        self._refresh_state()

    def toggle_reasoning(self) -> bool:
        """Expand or collapse the reasoning; False when there is none."""
        if self._reasoning_box is None:
            return False
        self._reasoning_box.collapsed = not self._reasoning_box.collapsed
        return True

    def last_code_block(self) -> str | None:
        """The body of the last fenced code block of this message, if any."""
        return last_code_block(self.entry.content)


def last_code_block(text: str) -> str | None:
    """The body of the last complete (or still open) fenced code block in ``text``."""
    blocks: list[list[str]] = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if fence is None:
            if stripped.startswith(("```", "~~~")):
                fence = stripped[:3]
                blocks.append([])
        elif stripped.startswith(fence) and not stripped[3:].strip("`~ "):
            fence = None
        else:
            blocks[-1].append(line)
    if not blocks:
        return None
    return "\n".join(blocks[-1])
