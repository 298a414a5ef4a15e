"""Compare: one prompt to several models or presets, streamed side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Label, SelectionList, Static, TextArea

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ContentDelta, Model, ReasoningDelta, StreamEvent
from lmtui.services.clients import Client
from lmtui.services.compare import CompareColumn, CompareRun, CompareTarget
from lmtui.services.explain import explain_finish
from lmtui.services.terminal_text import make_inert
from lmtui.store.history import HistoryStore
from lmtui.store.presets import PresetSet, load_presets
from lmtui.ui.history_writes import app_history, queue_change
from lmtui.ui.text_box import TextBox
from lmtui.ui.tick_list import TickList
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import StreamText, pick_default


def column_status(column: CompareColumn) -> str:
    """The stats line under a column."""
    parts: list[str] = []
    if column.running:
        parts.append("streaming…")
    if column.ttft_s is not None:
        parts.append(f"first token {column.ttft_s:.2f}s")
    if column.tokens:
        parts.append(f"{column.tokens} tokens")
    if column.tokens_per_second is not None:
        parts.append(f"{column.tokens_per_second:.1f} tok/s")
    reason = column.finish_reason
    if column.error is not None:
        remedy = f" — {column.error.remedy}" if column.error.remedy else ""
        parts.append(f"error: {column.error.message}{remedy}")
    elif reason is not None:
        parts.append(f"finish: {reason.value} ({explain_finish(reason)})")
    if column.kept_as is not None:
        parts.append(f"kept as conversation {column.kept_as}")
    return " · ".join(parts)


class CompareScreen(WorkbenchScreen):
    """Pick two or more models or presets, send one prompt, compare the answers."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Compare"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "keep_focused", "Keep column", show=True, id="workbench.keep")
    ]

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
        history: HistoryStore | None = None,
        presets: PresetSet | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        self.history = history
        self._own_history = False
        if presets is None:
            try:
                presets = load_presets()
            except LmtuiError:
                presets = PresetSet(())
        self.presets = presets
        self.run_state: CompareRun | None = None

    def compose(self) -> ComposeResult:
        """Prompt and choices on top, one column per target below."""
        chat = [m for m in self.models if not m.is_embedding]
        chosen = {pick_default(chat, self.default_model)}
        chosen |= {m.id for m in chat if m.loaded}
        options: list[tuple[Text, str, bool]] = [
            (Text(f"model  {m.id}"), f"model:{m.id}", m.id in chosen) for m in chat
        ]
        options += [(Text(f"preset {p.name}"), f"preset:{p.name}", False) for p in self.presets]
        with Vertical(classes="wb-main"):
            yield Label(
                "One prompt to every model or preset ticked (Space ticks). Ctrl+R sends, "
                "Esc stops, Ctrl+T keeps the focused column as a conversation.",
                classes="wb-title",
            )
            with Horizontal(classes="cmp-top"):
                yield TextBox("", id="prompt", classes="cmp-prompt", soft_wrap=True)
                yield TickList[str](*options, id="targets", classes="cmp-targets")
            yield Static("", id="status", classes="wb-status", markup=False)
            yield Horizontal(id="columns", classes="cmp-columns")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the prompt."""
        self.query_one("#prompt", TextArea).focus()

    def on_unmount(self) -> None:
        """Close the history if this screen opened it."""
        if self._own_history and self.history is not None:
            self.history.close()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def targets(self) -> list[CompareTarget]:
        """The targets ticked, in list order."""
        targets = []
        for value in self.query_one("#targets", SelectionList).selected:
            kind, _, name = str(value).partition(":")
            if kind == "model":
                targets.append(CompareTarget(name))
            else:
                preset = self.presets.get(name)
                if preset is not None:
                    targets.append(CompareTarget.from_preset(preset, self.models))
        return targets

    def start(self) -> None:
        """Send the prompt to every target ticked."""
        prompt = self.query_one("#prompt", TextArea).text
        if not prompt.strip():
            self._status("Type a prompt first.")
            return
        try:
            targets = self.targets()
        except LmtuiError as exc:
            self._status(exc.message)
            return
        if not targets:
            self._status("Tick at least one model or preset (Space), two to compare.")
            return
        self.job = self._compare(CompareRun(self.client, prompt, targets))

    async def _build_columns(self, run: CompareRun) -> None:
        holder = self.query_one("#columns", Horizontal)
        await holder.remove_children()
        columns = []
        for i, column in enumerate(run.columns):
            columns.append(
                Vertical(
                    Label(Text(make_inert(column.target.title)), classes="cmp-title"),
                    StreamText(id=f"out-{i}", classes="cmp-output"),
                    Static("", id=f"stat-{i}", classes="cmp-stat", markup=False),
                    Button("Keep", id=f"keep-{i}", disabled=True, compact=True),
                    classes="cmp-column",
                )
            )
        await holder.mount_all(columns)

    @work(exclusive=True, group="compare", exit_on_error=False)
    async def _compare(self, run: CompareRun) -> None:
        self.run_state = run
        await self._build_columns(run)
        self._status(f"Sending to {len(run.columns)} target(s)…")

        def on_event(index: int, event: StreamEvent) -> None:
            if isinstance(event, ContentDelta | ReasoningDelta):
                widget = self.query_one(f"#out-{index}", StreamText)
                if isinstance(event, ReasoningDelta) and not run.columns[index].result.content:
                    widget.add(event.text)  # reasoning shows until the answer starts
                elif isinstance(event, ContentDelta):
                    widget.add(event.text)
            self._show_column(index)

        def on_end(index: int, column: CompareColumn) -> None:
            self.query_one(f"#out-{index}", StreamText).flush()
            self._show_column(index)
            keep = self.query_one(f"#keep-{index}", Button)
            keep.disabled = not column.result.content

        try:
            await run.run(on_event, on_end)
        except asyncio.CancelledError:
            self._status("Stopped: the partial answers stay; Keep saves one.")
            raise
        failed = sum(1 for c in run.columns if c.error is not None)
        note = f" ({failed} failed)" if failed else ""
        self._status(f"Done{note}. Ctrl+T or Keep saves a column as a conversation.")

    def _show_column(self, index: int) -> None:
        if self.run_state is None:
            return
        column = self.run_state.columns[index]
        self.query_one(f"#stat-{index}", Static).update(column_status(column))

    # ---- keeping ----------------------------------------------------------------

    @on(Button.Pressed)
    def _keep_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("keep-"):
            self.keep_column(int(event.button.id.removeprefix("keep-")))

    def action_keep_focused(self) -> None:
        """Keep the column that has focus (its text or its Keep button)."""
        focused = self.focused
        column = None
        if focused is not None:
            column = next(
                (w for w in focused.ancestors_with_self if w.has_class("cmp-column")), None
            )
        if column is None or self.run_state is None:
            self.notify("Focus a column first (Tab), then Ctrl+T.", severity="warning")
            return
        holder = self.query_one("#columns", Horizontal)
        self.keep_column(next(i for i, w in enumerate(holder.children) if w is column))

    def keep_column(self, index: int) -> int | None:
        """Save column ``index`` as a new conversation; return its id (None while queued)."""
        if self.run_state is None:
            return None
        if self.history is None:
            self.history = app_history(self.app)  # the app's: written by its history worker
        if self.history is None:
            try:
                self.history = HistoryStore()
                self._own_history = True
            except LmtuiError as exc:
                self._status(f"Cannot keep: {exc.message}")
                return None
        run, kept_as = self.run_state, list[int]()

        def kept(cid: int) -> None:
            kept_as.append(cid)
            if self.is_attached:
                self._show_column(index)
                self.query_one(f"#keep-{index}", Button).disabled = True
                self._status(f"Kept as conversation {cid}: open it from the history.")

        def failed(exc: LmtuiError) -> None:
            if self.is_attached:
                self._status(f"Cannot keep: {exc.message}")

        # On the app's history writer: a locked database never stalls the screen.
        queue_change(
            self.app,
            self.history,
            "keep a compared reply",
            lambda s: run.keep(index, s),
            done=kept,
            failed=failed,
        )
        return kept_as[0] if kept_as else None
