"""One message of the chat: who said it, the text, the reasoning and a footer of facts."""

from __future__ import annotations

import contextlib
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Collapsible, Label, Static
from textual.worker import Worker

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import (
    ContentDelta,
    ContentWasReasoning,
    Finish,
    FinishReason,
    LoadProgress,
    PromptProgress,
    ReasoningDelta,
    ServerLoading,
    StreamEvent,
    ToolCall,
    ToolCallEvent,
)
from lmtui.services.chat import REPEATING, Entry, EntryState, Reply
from lmtui.services.explain import explain_finish
from lmtui.services.live_stats import LiveStats, reply_figures
from lmtui.services.reply_extras import JSON_IN_REASONING, server_footer
from lmtui.services.terminal_text import make_inert
from lmtui.ui.keymap import MESSAGE_ACTIONS, key_for
from lmtui.ui.markdown_body import MarkdownBody
from lmtui.ui.notices import notify_text
from lmtui.ui.reply_progress import ReplyProgress
from lmtui.ui.stream_render import FRAME_SECONDS, StreamRenderer
from lmtui.ui.textual_compat import QuietResize, app_keymap
from lmtui.ui.tool_calls import ToolCallBlock

# The live speed goes to the status line every this many frames (twice a second).
FIGURES_EVERY_FRAMES = 8


def describe_footer(entry: Entry, remedy: str | None = None, continue_key: str = "Ctrl+O") -> str:
    """The one-line footer of an assistant message: model, finish, tokens, speed.

    ``continue_key`` names the key that continues a cut reply from wherever focus is
    (the app-wide one, not the focused message's own ``n``).
    """
    if entry.state is EntryState.STREAMING:
        return REPEATING if entry.repetition is not None else "streaming…  (Esc stops)"
    parts: list[str] = []
    model = entry.model_used or entry.model_requested
    if model:
        parts.append(make_inert(model))
    if entry.state is EntryState.ERROR:
        text = f"✖ error: {make_inert(entry.error or 'the request failed')}"
        if remedy:
            text += f" — {make_inert(remedy)}"
        return " · ".join([*parts, text])
    stopped = entry.state is EntryState.STOPPED
    if stopped and not (entry.content or entry.reasoning):
        parts.append("■ stopped before any text came (nothing saved)")
    elif stopped:
        parts.append("■ stopped (partial reply kept)")
    elif entry.state is EntryState.INTERRUPTED:
        why = entry.error or entry.detail or "the stream ended early"
        parts.append(f"⚠ interrupted: {make_inert(why)}")
        if remedy:
            parts.append(make_inert(remedy))
    elif entry.finish_reason is not None:
        parts.append(f"finish: {entry.finish_reason.value}")
    figures = reply_figures(entry.usage, entry.client_timings, entry.server_timings)
    if figures.tokens:
        parts.append(f"{figures.tokens} tok")
    if figures.first_token_s is not None:
        parts.append(f"TTFT {figures.first_token_s:.2f} s")
    if figures.tokens_per_second:
        parts.append(f"{figures.tokens_per_second:.1f} tok/s")
    parts.extend(server_footer(entry.extras))
    if entry.finish_reason == FinishReason.LENGTH:
        parts.append(f"cut at max_tokens — {continue_key} continues")
    if entry.answer_note:
        parts.append(f"⚠ {entry.answer_note}")
    if entry.note:
        parts.append(entry.note)
    elif entry.repetition is not None:
        parts.append("⚠ repeated itself")
    return " · ".join(parts)


class MessageWidget(QuietResize, Vertical, can_focus=True):
    """A user prompt or an assistant reply; focus it to act on it.

    A streaming reply is owned by its widget: :meth:`stream` consumes the reply's
    events in the widget's worker, draws them once a frame and posts
    :class:`LiveFigures` while it runs and :class:`StreamEnded` when it ends.
    """

    BINDINGS: ClassVar[list[BindingType]] = [a.binding() for a in MESSAGE_ACTIONS]

    class LiveFigures(Message):
        """How the reply is coming along (``waiting 1.2 s``, ``35.0 tok/s``)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class StreamEnded(Message):
        """The reply ended (finished, stopped or failed); ``error`` says why it failed."""

        def __init__(self, widget: MessageWidget, error: LmtuiError | None) -> None:
            super().__init__()
            self.widget = widget
            self.error = error

    def __init__(self, entry: Entry, shown: tuple[str, str] | None = None) -> None:
        """A widget for ``entry``; ``shown``: the text and reasoning to show instead of the
        entry's (a reply already streaming shows what its events add to, ``Reply.before``)."""
        role_class = "-user" if entry.role == "user" else "-assistant"
        # The state's class from the start: set at mount, it restyled the new message.
        super().__init__(classes=f"message {role_class} -{entry.state.value}")
        self.entry = entry
        self._shown = shown or (entry.content, entry.reasoning)
        self.remedy: str | None = None
        self._reasoning_static: Static | None = None
        self._reasoning_box: Collapsible | None = None
        self.renderer: StreamRenderer | None = None
        self.stats: LiveStats | None = None
        self._frame_timer: Timer | None = None
        self._frames = 0

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
        content, reasoning = self._shown
        if reasoning:
            yield from self._reasoning_widgets(make_inert(reasoning))
        yield from (ToolCallBlock(call) for call in self.entry.extras.tool_calls)
        yield MarkdownBody(make_inert(content), classes="body")
        yield Static(self._footer_content(), classes="meta")

    def _reasoning_widgets(self, text: str) -> list[Collapsible]:
        self._reasoning_static = Static(Content(text), classes="reasoning")
        self._reasoning_box = Collapsible(
            self._reasoning_static, title="Reasoning (t shows it)", collapsed=True
        )
        return [self._reasoning_box]

    def _footer_content(self) -> Content:
        keymap = app_keymap(self.app) if self.is_attached else None
        return Content(describe_footer(self.entry, self.remedy, key_for("continue", keymap)))

    def on_mount(self) -> None:
        self._refresh_state()

    # ---- streaming ------------------------------------------------------------

    def stream(self, reply: Reply) -> Worker[None]:
        """Consume ``reply`` (whose entry this widget shows) in this widget's worker.

        Cancel the worker to stop the reply: its partial text stays, marked stopped.
        """
        return self.run_worker(
            self._consume(reply), group="stream", exclusive=True, exit_on_error=False
        )

    @property
    def frame_timer(self) -> Timer | None:
        """The timer drawing the reply, running only while it streams."""
        return self._frame_timer

    async def _consume(self, reply: Reply) -> None:
        renderer = self.start_stream()
        stats = self.stats = LiveStats()
        self._frames = 0
        self._frame_timer = self.set_interval(FRAME_SECONDS, self._frame)
        error: LmtuiError | None = None
        flagged = False
        try:
            async for event in reply:
                if isinstance(event, ContentDelta):
                    renderer.add_content(event.text)
                elif isinstance(event, ReasoningDelta):
                    renderer.add_reasoning(event.text)
                else:
                    await self.native_event(event)
                    continue
                stats.delta(event.pieces)
                if self.entry.repetition is not None and not flagged:
                    flagged = True  # say so once: the footer line, and a toast
                    self.refresh_state()
                    notify_text(self.app, REPEATING, severity="warning")
        except LmtuiError as exc:
            self.remedy = exc.remedy
            error = exc
        except Exception as exc:  # never lose the partial reply to an unexpected error
            self.entry.error = f"unexpected error: {exc}"
            error = LmtuiError(f"Unexpected error: {exc}")
        finally:
            await reply.aclose()
            if self._frame_timer is not None:
                self._frame_timer.stop()
                self._frame_timer = None
            with contextlib.suppress(NoMatches):  # removed from the screen while it streamed
                await self.finish_stream()
            self.post_message(self.StreamEnded(self, error))

    async def _frame(self) -> None:
        renderer = self.renderer
        if renderer is None:
            return
        await renderer.flush()
        self._frames += 1
        if self._frames % FIGURES_EVERY_FRAMES == 0 and self.stats is not None:
            self.post_message(self.LiveFigures(self.stats.text()))

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
        if isinstance(event, LoadProgress | PromptProgress | ServerLoading):
            self._progress_line().show(self.entry.extras)
        elif isinstance(event, ToolCallEvent):
            await self._show_tool_call(event.call)
        elif isinstance(event, Finish) and self.entry.answer_note == JSON_IN_REASONING:
            # The session took a JSON answer out of the reasoning: show it as the answer.
            await self.query_one(".body", MarkdownBody).set_text(make_inert(self.entry.content))
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
        if self.renderer is not None:
            # The last text first: a paint between it and the footer showed "finish:"
            # under text still being drawn. From here to the end's layout, no await.
            await self.renderer.drain()
        self._refresh_state()
        self.query_one(".role", Label).update(self._role_label())
        if self.renderer is None:
            return
        self.renderer = None
        body = self.query_one(".body", MarkdownBody)
        if body.finish():
            # A fast reply scrolled past chunks never painted: draw them a turn at a
            # time, then settle to the exact height in one layout — after the reply's
            # end and its footer are painted, so that paint does not wait for them.
            self.call_after_refresh(self._settle_in_background, body)
        else:
            await body.settle()

    def _settle_in_background(self, body: MarkdownBody) -> None:
        # The coroutine is made here, when it runs: a widget removed before this
        # refresh leaves no coroutine never awaited.
        self.run_worker(body.settle(), group="render-all", exit_on_error=False)

    # ---- state ----------------------------------------------------------------

    def _refresh_state(self) -> None:
        before = self.classes
        for state in EntryState:
            self.set_class(self.entry.state is state, f"-{state.value}", update=False)
        if self.classes != before:
            self.update_node_styles()  # once: each class change restyles the whole message
        if self.entry.role != "assistant":
            return
        meta = self.query(".meta")
        if meta:
            meta.first(Static).update(self._footer_content())
        ended = self.entry.state is not EntryState.STREAMING
        if self.entry.finish_reason is not None and ended:
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
