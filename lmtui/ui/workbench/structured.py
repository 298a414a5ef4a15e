"""Structured output and custom tools: a preset's schema checked, its tools answered.

Pick a preset (one with a ``schema`` and/or ``[[tools]]``), type a prompt, Ctrl+R.

- With a schema, the reply shows as formatted JSON with a "valid" mark, or with
  the validation errors and Ctrl+T to ask again.
- With tools, each call the model makes shows as a block: type or paste its result
  and press Enter, Ctrl+G uses the preset's canned result, Ctrl+O runs the tool's
  bound command — only after the confirmation dialog showing the exact argv was
  accepted. When every call has an answer the conversation goes on by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, Select, Static

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ContentDelta, Model, ReasoningDelta
from lmtui.services.clients import Client
from lmtui.services.schemas import check_reply
from lmtui.services.terminal_text import make_inert
from lmtui.services.tool_chat import PendingCall, ToolConversation
from lmtui.store.history import HistoryStore
from lmtui.store.presets import Preset, PresetSet, load_presets
from lmtui.store.schema_files import schema_of
from lmtui.ui.history_writes import app_history, writer_for
from lmtui.ui.tool_confirm import ConfirmCommand
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import model_select, selected


class ToolCallBlock(Vertical):
    """One tool call: name, arguments (or why they are malformed), and the answer box."""

    DEFAULT_CSS = """
    ToolCallBlock { height: auto; border: round $accent; padding: 0 1; margin-bottom: 1; }
    ToolCallBlock .tc-problem { color: $error; }
    ToolCallBlock .tc-answer { color: $success; }
    """

    def __init__(self, pending: PendingCall) -> None:
        super().__init__(classes="tool-call")
        self.pending = pending

    def compose(self) -> ComposeResult:
        """Header, arguments, problem mark and the answer input."""
        p = self.pending
        self.border_title = make_inert(f"tool call: {p.call.name}")
        args = p.call.arguments
        if p.arguments is not None:
            args = json.dumps(p.arguments, indent=2, ensure_ascii=False)
        yield Static(make_inert(args or "{}"), markup=False, classes="tc-args")
        if p.problem:
            yield Static(make_inert(f"✗ {p.problem}"), markup=False, classes="tc-problem")
        keys = ["Enter: send the typed result"]
        if p.tool is not None and p.tool.result is not None:
            keys.append("Ctrl+G: canned result")
        if p.can_run:
            keys.append("Ctrl+O: run its command (asks first)")
        yield Static(" · ".join(keys), markup=False, classes="wb-status")
        yield Input(placeholder="result of this call", classes="tc-input")
        yield Static("", markup=False, classes="tc-answer")

    def show_answer(self) -> None:
        """Mark the call answered, with where the answer came from."""
        p = self.pending
        if p.answer is None:
            return
        first = make_inert(p.answer.splitlines()[0] if p.answer.strip() else "(empty)")
        self.query_one(".tc-answer", Static).update(f"✓ answered ({p.source}): {first[:200]}")
        self.query_one(".tc-input", Input).disabled = True


class StructuredScreen(WorkbenchScreen):
    """Ask with a preset's schema and tools; see the check, answer the calls."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Structured output and tools"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "retry", "Retry", show=True, id="structured.retry"),
        Binding("ctrl+g", "canned", "Canned result", show=True, id="structured.canned"),
        Binding("ctrl+o", "run_command", "Run command", show=True, id="structured.run_command"),
    ]

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
        presets: PresetSet | None = None,
        history: HistoryStore | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        self.history = history  # tool calls and answers are kept there (opened on first use)
        self._own_history = False
        if presets is None:
            try:
                presets = load_presets()
            except LmtuiError:
                presets = PresetSet(())
        self.presets = presets
        self.conversation: ToolConversation | None = None
        self.last_prompt = ""
        self.last_valid: bool | None = None

    def compose(self) -> ComposeResult:
        """Preset, model, prompt; then the transcript, the check and the calls."""
        chat = [m for m in self.models if not m.is_embedding]
        useful = [p for p in self.presets if p.tools or schema_of(p.params.response_format)]
        with Vertical(classes="wb-main"):
            yield Label(
                "A preset with a schema or tools; type a prompt and press Ctrl+R.",
                classes="wb-title",
            )
            with Horizontal(classes="batch-row"):
                yield Label("Preset", classes="batch-label")
                yield Select(
                    [(p.name, p.name) for p in useful], prompt="(choose a preset)", id="preset"
                )
            with Horizontal(classes="batch-row"):
                yield Label("Model", classes="batch-label")
                yield model_select(chat, self.default_model, id="model")
            yield Input(placeholder="prompt", id="prompt")
            with VerticalScroll(id="transcript", classes="wb-output"):
                yield Static("", id="check", markup=False)  # first: the mark stays in sight
                yield Static("", id="reply", markup=False)
                yield Vertical(id="calls")
            yield Static("", id="status", classes="wb-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Focus the prompt."""
        self.query_one("#prompt", Input).focus()

    def on_unmount(self) -> None:
        """Close the history if this screen opened it."""
        if self._own_history and self.history is not None:
            self.history.close()

    def _open_history(self) -> HistoryStore | None:
        if self.history is None:
            self.history = app_history(self.app)  # the app's: written by its history worker
        if self.history is None:
            try:
                self.history = HistoryStore()
                self._own_history = True
            except LmtuiError as exc:
                self.notify(f"History is not being saved: {exc.message}", severity="warning")
        return self.history

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _preset(self) -> Preset | None:
        name = selected(self.query_one("#preset", Select))
        return self.presets.get(name) if name else None

    # -- running

    @on(Input.Submitted, "#prompt")
    def _submitted(self) -> None:
        self.action_run()

    def start(self) -> None:
        """Send the prompt with the chosen preset."""
        prompt = self.query_one("#prompt", Input).value.strip()
        preset = self._preset()
        model = selected(self.query_one("#model", Select))
        if not prompt or preset is None or not model:
            self._status("Choose a preset and a model and type a prompt first.")
            return
        self.last_prompt = prompt
        self.conversation = ToolConversation(
            self.client,
            model,
            preset.tools,
            system_prompt=preset.system_prompt,
            params=preset.params,
            history=(history := self._open_history()),
            preset=preset.name,
            writes=writer_for(self.app, history),  # off the event loop
        )
        self.query_one("#calls", Vertical).remove_children()
        self.job = self._stream(first=True)

    @work(exclusive=True, group="structured", exit_on_error=False)
    async def _stream(self, first: bool) -> None:
        chat = self.conversation
        assert chat is not None
        reply = self.query_one("#reply", Static)
        check = self.query_one("#check", Static)
        check.update("")
        text = ""
        reasoning = ""
        self._status("Asking…")
        events = chat.send(self.last_prompt) if first else chat.resume()
        try:
            async for event in events:
                if isinstance(event, ContentDelta):
                    text += event.text
                    reply.update(make_inert(text))
                elif isinstance(event, ReasoningDelta):
                    reasoning += event.text
        except LmtuiError as exc:
            self._status(f"{exc.message} {exc.remedy}".strip())
            return
        if chat.history_error:
            self.notify(chat.history_error, severity="warning")
        await self._after_reply(text, reasoning)

    async def _after_reply(self, text: str, reasoning: str) -> None:
        chat = self.conversation
        assert chat is not None
        if chat.turn.calls:
            calls = self.query_one("#calls", Vertical)
            await calls.remove_children()
            blocks = [ToolCallBlock(p) for p in chat.turn.calls]
            await calls.mount(*blocks)
            blocks[0].query_one(".tc-input", Input).focus()
            self._status(f"The model called {len(blocks)} tool(s): answer each call.")
            return
        schema = schema_of(chat.params.response_format)
        if schema is None:
            self._status("Done.")
            return
        result = check_reply(text, reasoning, schema)
        self.last_valid = result.valid
        check = self.query_one("#check", Static)
        if result.valid:
            pretty = json.dumps(result.value, indent=2, ensure_ascii=False)
            note = f"\n(note: {result.note})" if result.note else ""
            self.query_one("#reply", Static).update(make_inert(pretty))
            check.update(f"✓ valid{note}")
            self._status("The reply follows the schema.")
        else:
            lines = "\n".join(make_inert(e) for e in result.errors)
            check.update(f"✗ invalid\n{lines}")
            self._status("The reply does not follow the schema: Ctrl+T asks again.")

    # -- answering calls

    def _focused_block(self) -> ToolCallBlock | None:
        node = self.focused
        while node is not None and not isinstance(node, ToolCallBlock):
            node = node.parent  # type: ignore[assignment]
        if node is None:
            blocks = [b for b in self.query(ToolCallBlock) if b.pending.answer is None]
            return blocks[0] if blocks else None
        return node

    @on(Input.Submitted, ".tc-input")
    def _typed(self, event: Input.Submitted) -> None:
        block = self._focused_block()
        if block is None or self.conversation is None:
            return
        self.conversation.answer(block.pending.call.id, event.value)
        self._answered(block)

    def action_canned(self) -> None:
        """Answer the focused call with the preset's canned result."""
        block = self._focused_block()
        if block is None or self.conversation is None:
            return
        if not self.conversation.answer_canned(block.pending.call.id):
            self.notify("This tool has no canned result in the preset.", severity="warning")
            return
        self._answered(block)

    def action_run_command(self) -> None:
        """Ask to run the focused call's bound command; it runs only if accepted."""
        block = self._focused_block()
        if block is None or self.conversation is None:
            return
        if not block.pending.can_run:
            self.notify("No command can run for this call.", severity="warning")
            return
        self._run_bound(block)

    @work(exclusive=True, group="tool-command", exit_on_error=False)
    async def _run_bound(self, block: ToolCallBlock) -> None:
        chat = self.conversation
        assert chat is not None

        async def confirm(argv: tuple[str, ...]) -> bool:
            answer = await self.app.push_screen_wait(ConfirmCommand(block.pending.call.name, argv))
            return bool(answer)

        try:
            result = await chat.run_bound(block.pending.call.id, confirm)
        except LmtuiError as exc:
            self._status(f"{exc.message} {exc.remedy}".strip())
            return
        if result is None:
            self._status("Not run. Type a result, use the canned one, or run it after all.")
            return
        self._answered(block)

    def _answered(self, block: ToolCallBlock) -> None:
        block.show_answer()
        chat = self.conversation
        assert chat is not None
        left = [b for b in self.query(ToolCallBlock) if b.pending.answer is None]
        if left:
            left[0].query_one(".tc-input", Input).focus()
            self._status(f"{len(left)} call(s) still to answer.")
            return
        self._status("Every call answered: sending the results…")
        self.job = self._stream(first=False)

    def action_retry(self) -> None:
        """Ask the same prompt again (after an invalid reply)."""
        if self.busy:
            return
        if not self.last_prompt:
            self.notify("Nothing to retry yet: Ctrl+R asks.", severity="warning")
            return
        self.query_one("#prompt", Input).value = self.last_prompt
        self.start()
