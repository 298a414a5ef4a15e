"""The parameter panel: the conversation's sampling parameters and system prompt.

``ParamPanel(current, preset=..., system_prompt=...)`` is a modal screen with one
row per parameter of :data:`lmtui.backend.params.PARAM_SPECS`: an input, the
allowed range and help, the error while the text is not a valid value, a marker
(●) when the value differs from the preset's, and a reset to the preset's value.
A blank input means "not set": the parameter is not sent and the server's default
applies. Its result is a :class:`ParamResult` (parameters and system prompt), or
None when cancelled. Save is refused, with a message, while any row is invalid.

:class:`ParamFields` (the rows alone) is reused by the preset editor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Static, TextArea

from lmtui.backend.params import PARAM_SPECS, ParamKind, ParamSpec, format_param, validate_param
from lmtui.backend.types import PARAMETER_NAMES, SamplingParams
from lmtui.ui.text_box import TextBox

_CSS_FILE = Path(__file__).with_suffix(".tcss")
DIFFERS_MARK = "●"


@dataclass(frozen=True, slots=True)
class ParamResult:
    """What the parameter panel returns: the parameters and the system prompt."""

    params: SamplingParams
    system_prompt: str


def parse_param_text(spec: ParamSpec, text: str) -> Any:
    """The value typed for ``spec``, validated; None for blank (unset).

    ``stop`` is written as JSON (``"###"`` or ``["a", "b"]``, as it is shown);
    text that does not start with ``"`` or ``[`` is taken as one literal stop
    sequence. Raises ValueError with a message fit to show.
    """
    if not text.strip():
        return None
    if spec.kind is ParamKind.STOP:
        stripped = text.strip()
        if stripped[0] in '["':
            try:
                raw: object = json.loads(stripped)
            except ValueError:
                raise ValueError('stop must be valid JSON here: "text" or ["one", "two"]') from None
            return validate_param(spec.name, raw)
        return validate_param(spec.name, text)
    return validate_param(spec.name, text)


def _same(a: object, b: object) -> bool:
    """Equal as parameter values (a list and a tuple of the same strings are equal)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


class ParamRow(Vertical):
    """One parameter: marker, name, input, reset, range; then help or the error."""

    def __init__(self, spec: ParamSpec, value: object, baseline: object) -> None:
        super().__init__(classes="param-row", id=f"row-{spec.name}")
        self.spec = spec
        self._initial = format_param(spec.name, value)
        self.baseline = baseline
        self.error: str | None = None
        self.value: Any = value

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Horizontal(classes="param-line"):
            yield Static(" ", classes="param-mark", markup=False)
            yield Label(spec.name, classes="param-name", markup=False)
            yield Input(
                self._initial,
                placeholder=f"unset ({spec.default_text})",
                id=f"param-{spec.name}",
                classes="param-input",
                compact=True,
                select_on_focus=False,
            )
            reset = Button("reset", classes="param-reset", compact=True, id=f"reset-{spec.name}")
            reset.can_focus = False
            reset.tooltip = f"Reset {spec.name} to the preset's value"
            yield reset
            yield Static(spec.range_text, classes="param-range", markup=False)
        yield Static(spec.help, classes="param-help", markup=False)

    def on_mount(self) -> None:
        self._check(self._initial)

    @property
    def input(self) -> Input:
        """The row's text input."""
        return self.query_one(Input)

    @property
    def differs(self) -> bool:
        """True when the (valid) value is not the baseline's (the preset's) value."""
        return self.error is None and not _same(self.value, self.baseline)

    def set_text(self, text: str) -> None:
        """Replace the input's text (and validate it)."""
        self.input.value = text
        self._check(text)

    def reset(self) -> None:
        """Put back the baseline value (blank when the baseline leaves it unset)."""
        self.set_text(format_param(self.spec.name, self.baseline))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check(event.value)

    @on(Button.Pressed, ".param-reset")
    def _reset_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.reset()
        self.input.focus()

    def _check(self, text: str) -> None:
        try:
            self.value = parse_param_text(self.spec, text)
            self.error = None
        except ValueError as exc:
            self.error = str(exc)
        help_line = self.query_one(".param-help", Static)
        help_line.update(self.error if self.error else self.spec.help)
        self.set_class(self.error is not None, "-invalid")
        self.set_class(self.differs, "-differs")
        mark = "✗" if self.error else (DIFFERS_MARK if self.differs else " ")
        self.query_one(".param-mark", Static).update(mark)


class ParamFields(Vertical):
    """Every parameter row, compared against a baseline (a preset's parameters)."""

    DEFAULT_CSS = _CSS_FILE.read_text(encoding="utf-8")

    # Here rather than on the screen: the scrolling container around the rows would
    # otherwise take up/down to scroll instead of moving between inputs.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Next parameter", show=False, id="params_next"),
        Binding("up", "move(-1)", "Previous parameter", show=False, id="params_previous"),
    ]

    def __init__(
        self,
        current: SamplingParams,
        baseline: SamplingParams | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._current = current
        self._baseline = baseline or SamplingParams()

    def compose(self) -> ComposeResult:
        for spec in PARAM_SPECS:
            yield ParamRow(
                spec, getattr(self._current, spec.name), getattr(self._baseline, spec.name)
            )

    def rows(self) -> Iterator[ParamRow]:
        """The rows, in :data:`PARAM_SPECS` order."""
        return iter(self.query(ParamRow))

    def row(self, name: str) -> ParamRow:
        """The row of parameter ``name``."""
        return self.query_one(f"#row-{name}", ParamRow)

    def invalid(self) -> list[ParamRow]:
        """The rows whose text is not a valid value."""
        return [r for r in self.rows() if r.error is not None]

    def params(self) -> SamplingParams:
        """The parameters as typed; ValueError naming the first invalid one."""
        bad = self.invalid()
        if bad:
            raise ValueError(f"{bad[0].spec.name}: {bad[0].error}")
        values = {r.spec.name: r.value for r in self.rows() if r.value is not None}
        return SamplingParams(**{n: values[n] for n in PARAMETER_NAMES if n in values})

    def reset_all(self) -> None:
        """Put every row back to the baseline."""
        for row in self.rows():
            row.reset()

    def action_move(self, step: int) -> None:
        """Move the focus to the next or previous parameter input."""
        rows = list(self.rows())
        row = self.focused_row()
        if row is None:
            return
        index = max(0, min(len(rows) - 1, rows.index(row) + step))
        rows[index].input.focus()
        rows[index].scroll_visible()

    def focused_row(self) -> ParamRow | None:
        """The row holding the focused input, if any."""
        focused = self.screen.focused
        node: Widget | None = focused
        while node is not None and node is not self:
            if isinstance(node, ParamRow):
                return node
            parent = node.parent
            node = parent if isinstance(parent, Widget) else None
        return None


class ParamPanel(ModalScreen[ParamResult | None]):
    """Edit the conversation's system prompt and sampling parameters."""

    DEFAULT_CSS = _CSS_FILE.read_text(encoding="utf-8")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="params_save"),
        Binding("escape", "cancel", "Cancel", id="params_cancel"),
        Binding("ctrl+r", "reset_row", "Reset row", id="params_reset_row"),
        Binding("alt+r", "reset_all", "Reset all", id="params_reset_all"),
    ]

    def __init__(
        self,
        current: SamplingParams,
        *,
        preset: SamplingParams | None = None,
        system_prompt: str = "",
        preset_name: str | None = None,
    ) -> None:
        """``preset`` holds the preset's parameters: markers and resets compare with them.

        Without a preset the baseline is "everything unset" (the server's defaults).
        """
        super().__init__()
        self._current = current
        self._preset = preset
        self._system_prompt = system_prompt
        self._preset_name = preset_name

    def compose(self) -> ComposeResult:
        against = (
            f"preset '{self._preset_name}'"
            if self._preset_name
            else ("the preset" if self._preset is not None else "the server defaults")
        )
        with Vertical(id="param-box") as box:
            box.border_title = "Parameters"
            box.border_subtitle = f"{DIFFERS_MARK} differs from {against} · blank = unset"
            with VerticalScroll(id="param-scroll"):
                yield Label("System prompt", classes="param-section")
                yield TextBox(
                    self._system_prompt,
                    id="param-system-prompt",
                    soft_wrap=True,
                    compact=True,
                    tab_behavior="focus",
                )
                yield Label("Sampling parameters", classes="param-section")
                yield ParamFields(self._current, self._preset, id="param-fields")
            yield Static("", id="param-message", markup=False)
            with Horizontal(id="param-buttons"):
                yield Button("Save", id="param-save", variant="primary", compact=True)
                yield Button("Reset all", id="param-reset-all", compact=True)
                yield Button("Cancel", id="param-cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.fields.row(PARAM_SPECS[0].name).input.focus()

    @property
    def fields(self) -> ParamFields:
        """The parameter rows."""
        return self.query_one(ParamFields)

    @property
    def message(self) -> Static:
        """The line under the rows that says why Save was refused."""
        return self.query_one("#param-message", Static)

    def action_save(self) -> None:
        """Return the parameters and system prompt, unless a row is invalid."""
        bad = self.fields.invalid()
        if bad:
            names = ", ".join(r.spec.name for r in bad)
            first = bad[0]
            self.message.update(f"Not saved: fix or blank {names} — {first.error}")
            self.message.add_class("-error")
            first.input.focus()
            first.scroll_visible()
            return
        prompt = self.query_one("#param-system-prompt", TextArea).text
        self.dismiss(ParamResult(self.fields.params(), prompt))

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    def action_reset_row(self) -> None:
        """Reset the focused row to the preset's value."""
        row = self.fields.focused_row()
        if row is not None:
            row.reset()

    def action_reset_all(self) -> None:
        """Reset every row to the preset's values."""
        self.fields.reset_all()
        self.message.update("Every parameter reset to the preset's value.")
        self.message.remove_class("-error")

    @on(Button.Pressed, "#param-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#param-reset-all")
    def _reset_all_pressed(self) -> None:
        self.action_reset_all()

    @on(Button.Pressed, "#param-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted, ".param-input")
    def _submitted(self) -> None:
        self.action_save()
