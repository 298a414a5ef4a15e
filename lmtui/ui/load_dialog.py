"""The load dialog (sidebar ``L``): load options with the model's limits, then what applied.

The fields start from the options last used for the model (remembered per model) and
show its limits: the maximum context and the memory the weights take, where the server
says them. Enter loads; the dialog then shows the config LM Studio applied
(``echo_load_config``) and the load time, and Enter or Esc closes it. The load itself
is a callable given by the caller, so the dialog never talks to the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from lmtui.backend.errors import ConfigError, LmtuiError
from lmtui.backend.types import LoadConfig, Model
from lmtui.services.model_admin import (
    LoadOutcome,
    check_load_options,
    describe_config,
    memory_hint,
)
from lmtui.services.terminal_text import make_inert

LoadCall = Callable[[LoadConfig], Awaitable[LoadOutcome]]

_TRI: list[tuple[str, bool | None]] = [("LM Studio's default", None), ("on", True), ("off", False)]
_KV: list[tuple[str, bool | None]] = [
    ("LM Studio's default", None),
    ("GPU memory", True),
    ("RAM", False),
]


def limits_text(model: Model) -> str:
    """The model's limits and state in one or two lines, for the top of the dialog."""
    lines: list[str] = []
    facts: list[str] = []
    if model.max_context_length:
        facts.append(f"max context {model.max_context_length:,}")
    hint = memory_hint(model)
    if hint:
        facts.append(hint)
    if facts:
        lines.append(" · ".join(facts))
    if model.instances:
        contexts = ", ".join(
            f"{i.config.context_length:,}" for i in model.instances if i.config.context_length
        )
        n = len(model.instances)
        loaded = f"Loaded {n}×" + (f" (context {contexts})" if contexts else "")
        lines.append(f"{loaded}: this loads another instance.")
    return "\n".join(lines)


def parse_int(text: str, what: str) -> int | None:
    """An optional whole number typed in a field; ConfigError naming the field otherwise."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None
    try:
        return int(cleaned)
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, not “{text.strip()}”.") from None


class LoadDialog(ModalScreen[LoadOutcome | None]):
    """Load options for one model; the result is the finished load, or None."""

    DEFAULT_CSS = """
    LoadDialog {
        align: center middle;
        background: $background 60%;
    }
    LoadDialog #load-dialog {
        width: 64;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    LoadDialog #load-limits { color: $text-muted; height: auto; margin-bottom: 1; }
    LoadDialog .load-row { height: auto; }
    LoadDialog .load-row Label { width: 17; padding: 0 1 0 0; }
    LoadDialog .load-row Input { width: 1fr; }
    LoadDialog .load-row Select { width: 1fr; }
    LoadDialog #load-error { color: $text-error; height: auto; display: none; }
    LoadDialog #load-error.-shown { display: block; }
    LoadDialog #load-result { height: auto; display: none; margin-top: 1; }
    LoadDialog #load-result.-shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="load.cancel"),
        Binding("ctrl+s", "load", "Load", id="load.submit"),
        # Reached when no field has focus (they are disabled once the load ran).
        Binding("enter", "load", show=False),
    ]

    def __init__(self, model: Model, remembered: LoadConfig, load: LoadCall) -> None:
        super().__init__()
        self.model = model
        self.remembered = remembered
        self._load = load
        self.outcome: LoadOutcome | None = None
        self.loading = False

    def compose(self) -> ComposeResult:
        m, r = self.model, self.remembered
        with Vertical(id="load-dialog") as dialog:
            dialog.border_title = f"Load {make_inert(m.label)}"
            dialog.border_subtitle = "Enter load · Tab next field · Esc close"
            yield Static(Content(make_inert(limits_text(m))), id="load-limits")
            with Horizontal(classes="load-row"):
                yield Label("Context length")
                yield Input(
                    str(r.context_length or ""),
                    placeholder=f"default · max {m.max_context_length:,}"
                    if m.max_context_length
                    else "LM Studio's default",
                    id="load-context",
                    compact=True,
                )
            if not m.is_embedding:
                with Horizontal(classes="load-row"):
                    yield Label("Eval batch size")
                    yield Input(
                        str(r.eval_batch_size or ""),
                        placeholder="default (512)",
                        id="load-batch",
                        compact=True,
                    )
                with Horizontal(classes="load-row"):
                    yield Label("Flash attention")
                    yield Select(
                        _TRI,
                        value=r.flash_attention,
                        allow_blank=False,
                        id="load-flash",
                        compact=True,
                    )
                with Horizontal(classes="load-row"):
                    yield Label("KV cache in")
                    yield Select(
                        _KV,
                        value=r.offload_kv_cache_to_gpu,
                        allow_blank=False,
                        id="load-kv",
                        compact=True,
                    )
                with Horizontal(classes="load-row"):
                    yield Label("Experts (MoE)")
                    yield Input(
                        str(r.num_experts or ""),
                        placeholder="default",
                        id="load-experts",
                        compact=True,
                    )
            yield Static(id="load-error", markup=False)
            yield Static(id="load-result", markup=False)

    def on_mount(self) -> None:
        self.query_one("#load-context", Input).focus()

    # ---- reading the fields -------------------------------------------------------

    def options(self) -> LoadConfig:
        """The options the fields say; ConfigError for a field that is not a number."""
        ctx = parse_int(self.query_one("#load-context", Input).value, "The context length")
        if self.model.is_embedding:
            return LoadConfig(context_length=ctx)
        flash = self.query_one("#load-flash", Select).value
        kv = self.query_one("#load-kv", Select).value
        return LoadConfig(
            context_length=ctx,
            eval_batch_size=parse_int(
                self.query_one("#load-batch", Input).value, "The eval batch size"
            ),
            flash_attention=flash if isinstance(flash, bool) else None,
            num_experts=parse_int(self.query_one("#load-experts", Input).value, "Experts"),
            offload_kv_cache_to_gpu=kv if isinstance(kv, bool) else None,
        )

    # ---- actions ----------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_load()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_error("")

    def action_load(self) -> None:
        """Check the fields, then load (or close once loaded)."""
        if self.outcome is not None:
            self.dismiss(self.outcome)
            return
        if self.loading:
            return
        try:
            options = check_load_options(self.options(), self.model)
        except ConfigError as exc:
            self._show_error(f"{exc.message}\n{exc.remedy}")
            return
        self._run_load(options)

    def action_cancel(self) -> None:
        """Close; a load under way goes on (its result shows in the sidebar)."""
        self.dismiss(self.outcome)

    @work(exclusive=True, exit_on_error=False)
    async def _run_load(self, options: LoadConfig) -> None:
        self.loading = True
        self._show_result(f"Loading {self.model.id}…")
        for field in self.query("Input, Select"):
            field.disabled = True
        try:
            outcome = await self._load(options)
        except LmtuiError as exc:
            self._show_result("")
            self._show_error(f"{exc.message}\n{exc.remedy}")
            for field in self.query("Input, Select"):
                field.disabled = False
            self.query_one("#load-context", Input).focus()
            return
        finally:
            self.loading = False
        self.outcome = outcome
        applied = (
            describe_config(outcome.applied)
            if outcome.applied is not None
            else "the server did not say (no echo of the load config)"
        )
        self._show_result(f"{outcome.headline()}.\nApplied: {applied}\nEnter or Esc closes.")
        self.query_one("#load-dialog").border_subtitle = "Enter or Esc close"

    def _show_error(self, text: str) -> None:
        error = self.query_one("#load-error", Static)
        error.update(Content(make_inert(text)))
        error.set_class(bool(text), "-shown")

    def _show_result(self, text: str) -> None:
        result = self.query_one("#load-result", Static)
        result.update(Content(make_inert(text)))
        result.set_class(bool(text), "-shown")
