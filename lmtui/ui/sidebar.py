"""The model sidebar: models grouped by state, a filter, details and load/unload keys.

The list is one ``OptionList`` whose options are rebuilt on each refresh or filter
change, so a server with hundreds of models costs no widget mounting.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from lmtui.backend.types import Model
from lmtui.ui.textual_compat import live_bindings

LOADED = "Loaded"
NOT_LOADED = "Not loaded"
AVAILABLE = "Available"
VISION = "Vision"
EMBEDDING = "Embedding"
GROUP_ORDER: tuple[str, ...] = (LOADED, NOT_LOADED, AVAILABLE, VISION, EMBEDDING)

NO_MODELS = "No models on this server"


def none_loaded_text(load_key: str) -> str:
    """The notice shown when the server has models but none is loaded."""
    return f"No models loaded — load one with `lms load <model>` or press {load_key}"


NONE_LOADED = none_loaded_text("L")

_MODEL_PREFIX = "model:"
_HEADER_PREFIX = "group:"


def group_of(model: Model) -> str:
    """The sidebar group a model is listed under."""
    if model.is_embedding:
        return EMBEDDING
    if model.is_vision:
        return VISION
    if model.loaded is None:
        return AVAILABLE
    return LOADED if model.loaded else NOT_LOADED


def matches(model: Model, query: str) -> bool:
    """True when ``query`` (case-insensitive) is part of the model's id or label."""
    needle = query.strip().casefold()
    return not needle or needle in model.id.casefold() or needle in model.label.casefold()


def grouped(models: list[Model], query: str = "") -> list[tuple[str, list[Model]]]:
    """Models that match ``query``, grouped in display order and sorted by label."""
    groups: dict[str, list[Model]] = {name: [] for name in GROUP_ORDER}
    for model in models:
        if matches(model, query):
            groups[group_of(model)].append(model)
    return [
        (name, sorted(members, key=lambda m: (m.label.casefold(), m.id)))
        for name, members in groups.items()
        if members
    ]


def human_size(size_bytes: int) -> str:
    """A byte count the way model files are usually quoted (decimal units)."""
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def model_details(model: Model) -> list[tuple[str, str]]:
    """(label, value) rows describing a model, only for what the server reported.

    The id is not among them: the details panel shows it as its title.
    """
    kind = model.type.value
    if model.loaded is not None:
        kind += " · loaded" if model.loaded else " · not loaded"
        if len(model.instance_ids) > 1:
            kind += f" ×{len(model.instance_ids)}"
    rows: list[tuple[str, str]] = [("Type", kind)]
    if model.params:
        rows.append(("Params", model.params))
    if model.quantization:
        rows.append(("Quant", model.quantization))
    context = _context_text(model)
    if context:
        rows.append(("Ctx", context))
    if model.size_bytes:
        rows.append(("Size", human_size(model.size_bytes)))
    if model.architecture:
        rows.append(("Arch", model.architecture))
    if model.capabilities:
        rows.append(("Caps", ", ".join(model.capabilities)))
    if model.reasoning_options:
        default = f" (default {model.reasoning_default})" if model.reasoning_default else ""
        rows.append(("Think", ", ".join(model.reasoning_options) + default))
    return rows


def _context_text(model: Model) -> str:
    loaded, maximum = model.loaded_context_length, model.max_context_length
    if loaded and maximum:
        return f"{loaded:,} / {maximum:,}"
    if maximum:
        return f"max {maximum:,}"
    if loaded:
        return f"{loaded:,} loaded"
    return ""


class ModelSidebar(Vertical):
    """Lists the server's models; posts messages for the app to act on.

    The sidebar never talks to the server itself: the app answers ``LoadRequested``,
    ``UnloadRequested`` and ``RefreshRequested`` and then calls ``set_models``,
    ``set_busy`` or ``set_error``. Selecting a model posts ``ModelSelected``; the app
    calls ``set_active`` once it has switched.
    """

    DEFAULT_CSS = (Path(__file__).parent / "sidebar.tcss").read_text(encoding="utf-8")
    BINDING_GROUP_TITLE = "Models"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l,L", "load", "Load", id="sidebar.load", tooltip="Load the highlighted model"),
        Binding("u", "unload", "Unload", id="sidebar.unload", tooltip="Unload it"),
        Binding("r", "refresh", "Refresh", id="sidebar.refresh", tooltip="Re-read the list"),
        Binding("slash", "focus_filter", "Filter", id="sidebar.filter", show=False),
        # Reached only from the filter box (the list binds its own Down): a combo-box feel.
        Binding("down", "focus_list", show=False),
    ]

    class ModelSelected(Message):
        """The user picked a model to chat with."""

        def __init__(self, model: Model) -> None:
            super().__init__()
            self.model = model

    class LoadRequested(Message):
        """The user asked to load a model."""

        def __init__(self, model: Model) -> None:
            super().__init__()
            self.model = model

    class UnloadRequested(Message):
        """The user asked to unload a model (``model.instance_ids`` says which instances)."""

        def __init__(self, model: Model) -> None:
            super().__init__()
            self.model = model

    class RefreshRequested(Message):
        """The user asked to re-read the model list."""

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = "sidebar",
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._models: list[Model] = []
        self._active: str | None = None
        self._error: tuple[str, str] | None = None
        self._shown: dict[str, Model] = {}  # option id -> model, for the current filter

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Filter models  /", id="sidebar-filter", compact=True)
        yield Static(id="sidebar-busy")
        yield Static(id="sidebar-notice", markup=False)
        yield OptionList(id="sidebar-list")
        yield Static(id="sidebar-details", markup=False)

    def on_mount(self) -> None:
        self._rebuild()

    # ---- public API -------------------------------------------------------------

    @property
    def models(self) -> list[Model]:
        """The models last given to ``set_models``."""
        return list(self._models)

    @property
    def highlighted_model(self) -> Model | None:
        """The model under the cursor, if any."""
        option = self._list.highlighted_option
        if option is None or option.id is None:
            return None
        return self._shown.get(option.id)

    def set_models(self, models: list[Model], *, active: str | None = None) -> None:
        """Show a fresh model list (clears any error); ``active`` marks the chat model."""
        self._models = list(models)
        self._active = active
        self._error = None
        self._rebuild()

    def set_active(self, model_id: str | None) -> None:
        """Mark ``model_id`` as the model the chat uses."""
        self._active = model_id
        self._rebuild()

    def set_error(self, message: str, remedy: str) -> None:
        """Show the server as unreachable (or failing) with what to do about it."""
        self._error = (message, remedy)
        self._rebuild()

    def set_busy(self, text: str | None) -> None:
        """Show a progress line such as "Loading qwen…"; None hides it."""
        busy = self.query_one("#sidebar-busy", Static)
        busy.update(Content(text or ""))
        busy.set_class(bool(text), "-shown")

    def focus_filter(self) -> None:
        """Move focus to the filter box."""
        self.query_one("#sidebar-filter", Input).focus()

    def focus_list(self) -> None:
        """Move focus to the model list."""
        self._list.focus()

    # ---- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim load/unload in the footer when they cannot apply to the highlighted model."""
        if action not in ("load", "unload"):
            return True
        model = self.highlighted_model
        if model is None:
            return None
        if action == "load":
            return True if model.loaded is not True else None
        return True if model.loaded or model.instance_ids else None

    def action_load(self) -> None:
        """Ask the app to load the highlighted model."""
        model = self.highlighted_model
        if model is not None and model.loaded is not True:
            self.post_message(self.LoadRequested(model))

    def action_unload(self) -> None:
        """Ask the app to unload the highlighted model."""
        model = self.highlighted_model
        if model is not None and (model.loaded or model.instance_ids):
            self.post_message(self.UnloadRequested(model))

    def action_refresh(self) -> None:
        """Ask the app to re-read the model list."""
        self.post_message(self.RefreshRequested())

    def action_focus_filter(self) -> None:
        """Focus the filter box."""
        self.focus_filter()

    def action_focus_list(self) -> None:
        """Focus the model list."""
        self.focus_list()

    # ---- events -----------------------------------------------------------------

    @on(Input.Changed, "#sidebar-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()

    @on(Input.Submitted, "#sidebar-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_list()

    @on(OptionList.OptionHighlighted, "#sidebar-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_details()
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#sidebar-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        model = self._shown.get(event.option.id or "")
        if model is not None:
            self.post_message(self.ModelSelected(model))

    # ---- rendering --------------------------------------------------------------

    @property
    def _list(self) -> OptionList:
        return self.query_one("#sidebar-list", OptionList)

    @property
    def _query(self) -> str:
        return self.query_one("#sidebar-filter", Input).value

    def _rebuild(self) -> None:
        if not self.is_mounted:
            return
        option_list = self._list
        previous = self.highlighted_model
        keep_id = previous.id if previous is not None else self._active
        query = self._query
        self._shown = {}
        options: list[Option] = []
        restore: int | None = None
        first: int | None = None
        if self._error is None:
            for name, members in grouped(self._models, query):
                options.append(self._header(name, len(members)))
                for model in members:
                    option_id = f"{_MODEL_PREFIX}{len(self._shown)}"
                    self._shown[option_id] = model
                    if first is None:
                        first = len(options)
                    if restore is None and model.id == keep_id:
                        restore = len(options)
                    options.append(Option(self._line(model), id=option_id))
        option_list.set_options(options)
        target = restore if restore is not None else first
        if target is not None:
            option_list.highlighted = target
        self._show_notice(query)
        self._show_details()
        self.refresh_bindings()

    def _header(self, name: str, count: int) -> Option:
        prompt = Content.assemble((name, "bold $text-accent"), (f" {count}", "dim"))
        return Option(prompt, id=f"{_HEADER_PREFIX}{name}", disabled=True)

    def _line(self, model: Model) -> Content:
        active = model.id == self._active
        if model.loaded is None:
            marker: tuple[str, str] = ("·", "dim")
        elif model.loaded:
            marker = ("●", "$text-success")
        else:
            marker = ("○", "dim")
        return Content.assemble(
            ("▸" if active else " ", "bold $text-accent"),
            marker,
            " ",
            (model.label, "bold" if active else ""),
        )

    def _show_notice(self, query: str) -> None:
        notice = self.query_one("#sidebar-notice", Static)
        text = ""
        error = False
        if self._error is not None:
            message, remedy = self._error
            text = f"{message}\n{remedy}\nPress {self._key_for('refresh')} to retry."
            error = True
        elif not self._models:
            text = NO_MODELS
        elif not self._shown:
            text = f"No models match “{query.strip()}”"
        elif self._none_loaded():
            text = none_loaded_text(self._key_for("load", prefer="L"))
        notice.update(Content(text))
        notice.set_class(bool(text), "-shown")
        notice.set_class(error, "-error")

    def _key_for(self, action: str, prefer: str | None = None) -> str:
        """How the key for one of the sidebar's actions is shown, keymap remaps included."""
        keys = [b for _, b in live_bindings(self) if b.action == action]
        if prefer is not None and any(b.key == prefer for b in keys):
            return prefer
        return self.app.get_key_display(keys[0]) if keys else action

    def _none_loaded(self) -> bool:
        chat_models = [m for m in self._models if not m.is_embedding]
        # A plain /v1 server does not say what is loaded, so there is nothing to warn about.
        if not chat_models or any(m.loaded is None for m in chat_models):
            return False
        return not any(m.loaded for m in chat_models)

    def _show_details(self) -> None:
        details = self.query_one("#sidebar-details", Static)
        model = self.highlighted_model
        if model is None:
            details.set_class(False, "-shown")
            return
        rows = model_details(model)
        width = max(len(label) for label, _ in rows)
        lines = [Content.styled(model.id, "bold $text")]
        lines.extend(
            Content.assemble((label.ljust(width), "bold"), " ", value) for label, value in rows
        )
        details.update(Content("\n").join(lines))
        details.set_class(True, "-shown")
