"""The model sidebar: loaded models first, every instance, a filter, details and keys.

The list is one ``OptionList`` whose options are rebuilt on each refresh or filter
change, so a server with hundreds of models costs no widget mounting. Loaded (and
loading) models come first, then the rest; the kind (vision, embedding) is a badge on
the row, never a group of its own, so a loaded vision model stays under "Loaded". A
model loaded more than once gets one row per instance under it.
"""

from __future__ import annotations

from dataclasses import replace
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

from lmtui.backend.types import Model, ModelInstance
from lmtui.services.model_admin import describe_config
from lmtui.services.model_admin import human_size as human_size
from lmtui.services.terminal_text import make_inert
from lmtui.ui.textual_compat import live_bindings

LOADED = "Loaded"
NOT_LOADED = "Not loaded"
AVAILABLE = "Available"
GROUP_ORDER: tuple[str, ...] = (LOADED, NOT_LOADED, AVAILABLE)

NO_MODELS = "No models on this server"
NO_CHAT_MODELS_V1 = "No chat models on this server — download one (D)"
# Without /api/v1 an empty list may only mean JIT is off and nothing is loaded.
NO_CHAT_MODELS = (
    "No chat models listed — download one, or load one with `lms load <model>` "
    "(with JIT loading off, LM Studio lists only loaded models)"
)


def none_loaded_text(load_key: str | None, *, jit: str = "unknown") -> str:
    """The notice shown when the server has models but none is loaded.

    ``load_key`` is the sidebar's load key, or None when the server cannot load over its
    API (LM Studio 0.3.x); ``jit`` is ``on`` when LM Studio will load a model on first use.
    """
    if jit == "on":
        now = f", or press {load_key} to load one now" if load_key else ""
        return f"Nothing loaded — LM Studio loads a model on first use (JIT){now}"
    if load_key is None:
        return "No models loaded — load one with `lms load <model>` or in LM Studio"
    return f"No models loaded — load one with `lms load <model>` or press {load_key}"


NONE_LOADED = none_loaded_text("L")

_MODEL_PREFIX = "model:"
_INSTANCE_PREFIX = "inst:"
_HEADER_PREFIX = "group:"


def group_of(model: Model) -> str:
    """The sidebar group a model is listed under: by state only, never by kind."""
    if model.loaded or model.state == "loading":
        return LOADED
    if model.loaded is None:
        return AVAILABLE
    return NOT_LOADED


def kind_badge(model: Model) -> str:
    """The short kind badge shown on a row (empty for a plain chat model)."""
    if model.is_embedding:
        return "embed"
    if model.is_vision:
        return "vision"
    return ""


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


def model_details(
    model: Model, instance: ModelInstance | None = None, *, ttl: int | None = None
) -> list[tuple[str, str]]:
    """(label, value) rows describing a model, only for what the server reported.

    With ``instance`` the context and load config are that instance's. ``ttl`` is the
    idle TTL the chat's preset sends (LM Studio unloads a JIT-loaded model after it).
    The id is not among the rows: the details panel shows it as its title.
    """
    kind = model.type.value
    if model.state == "loading":
        kind += " · loading"
    elif model.loaded is not None:
        kind += " · loaded" if model.loaded else " · not loaded"
        if len(model.instances or model.instance_ids) > 1:
            kind += f" ×{len(model.instances or model.instance_ids)}"
    rows: list[tuple[str, str]] = [("Type", kind)]
    if instance is not None and instance.id != model.id:
        rows.append(("Inst", instance.id))
    if model.params:
        rows.append(("Params", model.params))
    if model.quantization:
        rows.append(("Quant", model.quantization))
    context = _context_text(model, instance)
    if context:
        rows.append(("Ctx", context))
    if instance is not None:
        # The context has its own row; the rest of the instance's load config here.
        config = describe_config(replace(instance.config, context_length=None))
        if config:
            rows.append(("Load", config))
    if model.size_bytes:
        rows.append(("Size", human_size(model.size_bytes)))
    if model.architecture:
        rows.append(("Arch", model.architecture))
    if ttl:
        rows.append(("TTL", f"{ttl} s idle (preset)"))
    if model.capabilities:
        rows.append(("Caps", ", ".join(model.capabilities)))
    if model.reasoning_options:
        default = f" (default {model.reasoning_default})" if model.reasoning_default else ""
        rows.append(("Think", ", ".join(model.reasoning_options) + default))
    return rows


def _context_text(model: Model, instance: ModelInstance | None = None) -> str:
    loaded = f"{model.loaded_context_length:,}" if model.loaded_context_length else ""
    if instance is not None and instance.config.context_length:
        loaded = f"{instance.config.context_length:,}"
    elif instance is None and len(model.instances) > 1:
        # The model's row: every instance's context, in instance order.
        loaded = " · ".join(
            f"{i.config.context_length:,}" for i in model.instances if i.config.context_length
        )
    maximum = model.max_context_length
    if loaded and maximum:
        return f"{loaded} / {maximum:,}"
    if maximum:
        return f"max {maximum:,}"
    if loaded:
        return f"{loaded} loaded"
    return ""


def badges(words: tuple[str, ...] | list[str]) -> Content:
    """Capability badges that wrap between badges, never inside one (at any width)."""
    pieces: list[Content | tuple[str, str] | str] = []
    for i, word in enumerate(words):
        if i:
            pieces.append(" ")
        # Textual wraps at any whitespace, a no-break space too: join a badge's words with "-".
        pieces.append((make_inert(word).replace("_", "-").replace(" ", "-"), "reverse"))
    return Content.assemble(*pieces)


class ModelSidebar(Vertical):
    """Lists the server's models; posts messages for the app to act on.

    The sidebar never talks to the server itself: the app answers ``LoadRequested``,
    ``UnloadRequested``, ``DownloadRequested`` and ``RefreshRequested`` and then calls
    ``set_models``, ``set_busy`` or ``set_error``. Selecting a model posts
    ``ModelSelected``; the app calls ``set_active`` once it has switched.
    """

    DEFAULT_CSS = (Path(__file__).parent / "sidebar.tcss").read_text(encoding="utf-8")
    BINDING_GROUP_TITLE = "Models"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l,L", "load", "Load", id="sidebar.load", tooltip="Load the highlighted model…"),
        Binding("u", "unload", "Unload", id="sidebar.unload", tooltip="Unload the instance"),
        Binding("D", "download", "Download", id="sidebar.download", tooltip="Download a model…"),
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
        """The user asked to load a model (another instance when it is loaded already)."""

        def __init__(self, model: Model) -> None:
            super().__init__()
            self.model = model

    class UnloadRequested(Message):
        """The user asked to unload ``instance_ids`` of ``model`` (picked on the list)."""

        def __init__(self, model: Model, instance_ids: tuple[str, ...] | None = None) -> None:
            super().__init__()
            self.model = model
            self.instance_ids = instance_ids if instance_ids is not None else model.instance_ids

    class DownloadRequested(Message):
        """The user asked to download a model."""

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
        self._can_load = True
        self._jit = "unknown"
        self._ttl: int | None = None
        self._loading: set[str] = set()  # loads lmtui itself has under way
        self._hint = ""
        # option id -> (model, instance or None), for the current filter
        self._shown: dict[str, tuple[Model, ModelInstance | None]] = {}

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
    def can_load(self) -> bool:
        """True when the server loads models over its API (LM Studio 0.4's /api/v1)."""
        return self._can_load

    @property
    def jit(self) -> str:
        """JIT loading as last given to ``set_models``: ``on``, ``off`` or ``unknown``."""
        return self._jit

    @property
    def highlighted_model(self) -> Model | None:
        """The model under the cursor (for an instance row, its model), if any."""
        row = self._highlighted_row()
        return row[0] if row is not None else None

    @property
    def highlighted_instance(self) -> ModelInstance | None:
        """The instance under the cursor: an instance row, or a model loaded exactly once."""
        row = self._highlighted_row()
        if row is None:
            return None
        model, instance = row
        if instance is not None:
            return instance
        return model.instances[0] if len(model.instances) == 1 else None

    def set_models(
        self,
        models: list[Model],
        *,
        active: str | None = None,
        can_load: bool | None = None,
        jit: str | None = None,
    ) -> None:
        """Show a fresh model list (clears any error); ``active`` marks the chat model.

        ``can_load`` says the server loads over its API (LM Studio 0.4); ``jit`` is JIT
        loading as the listings show it (``on``, ``off``, ``unknown``). None keeps each.
        """
        self._models = list(models)
        self._active = active
        self._error = None
        if can_load is not None:
            self._can_load = can_load
        if jit is not None:
            self._jit = jit
        self._rebuild()

    def set_active(self, model_id: str | None) -> None:
        """Mark ``model_id`` as the model the chat uses."""
        self._active = model_id
        self._rebuild()

    def set_ttl(self, ttl: int | None) -> None:
        """The idle TTL the chat's preset sends, shown on the model."""
        self._ttl = ttl
        self._show_details()

    def set_loading(self, model_id: str, loading: bool) -> None:
        """Show ``model_id`` as loading while lmtui's own load request runs."""
        if loading:
            self._loading.add(model_id)
        else:
            self._loading.discard(model_id)
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
        """Dim load/unload in the footer when they cannot apply to the highlighted row."""
        if action not in ("load", "unload", "download"):
            return True
        if action == "download":
            return True if self._can_load else None
        model = self.highlighted_model
        if model is None:
            return None
        if action == "load":
            return True if self._can_load and model.state != "loading" else None
        return True if model.instances or model.instance_ids else None

    def action_load(self) -> None:
        """Ask the app to load the highlighted model (the app opens the load dialog)."""
        model = self.highlighted_model
        if model is not None and self._can_load and model.state != "loading":
            self.post_message(self.LoadRequested(model))

    def action_unload(self) -> None:
        """Ask the app to unload the highlighted instance; with several, pick one first."""
        model = self.highlighted_model
        if model is None or not (model.instances or model.instance_ids):
            return
        instance = self.highlighted_instance
        if instance is not None:
            self.post_message(self.UnloadRequested(model, (instance.id,)))
            return
        if len(model.instances) > 1:
            # Several instances: move to the first and say how to pick.
            target = f"{_INSTANCE_PREFIX}{model.instances[0].id}"
            index = self._index_of(target)
            if index is not None:
                self._list.highlighted = index
            self._hint = f"{model.label} is loaded {len(model.instances)}×: pick one, press U"
            self._show_notice(self._query)
            return
        self.post_message(self.UnloadRequested(model))

    def action_download(self) -> None:
        """Ask the app to open the download dialog."""
        if self._can_load:
            self.post_message(self.DownloadRequested())

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
        if self._hint and not (event.option.id or "").startswith(_INSTANCE_PREFIX):
            self._hint = ""
            self._show_notice(self._query)
        self._show_details()
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#sidebar-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        row = self._shown.get(event.option.id or "")
        if row is not None:
            self.post_message(self.ModelSelected(row[0]))

    # ---- rendering --------------------------------------------------------------

    @property
    def _list(self) -> OptionList:
        return self.query_one("#sidebar-list", OptionList)

    @property
    def _query(self) -> str:
        return self.query_one("#sidebar-filter", Input).value

    def _highlighted_row(self) -> tuple[Model, ModelInstance | None] | None:
        option = self._list.highlighted_option if self.is_mounted else None
        if option is None or option.id is None:
            return None
        return self._shown.get(option.id)

    def _index_of(self, option_id: str) -> int | None:
        for index, option in enumerate(self._list.options):
            if option.id == option_id:
                return index
        return None

    def _with_local_state(self, model: Model) -> Model:
        """``model`` marked loading while lmtui's own load of it runs."""
        if model.id in self._loading and not model.loading:
            return replace(model, loading=True)
        return model

    def _rebuild(self) -> None:
        if not self.is_mounted:
            return
        option_list = self._list
        previous = self._list.highlighted_option
        # Option ids are stable (the model or instance id), so the cursor stays on its row.
        keep_id = previous.id if previous is not None else None
        if keep_id is None and self._active:
            keep_id = f"{_MODEL_PREFIX}{self._active}"
        query = self._query
        self._shown = {}
        options: list[Option] = []
        restore: int | None = None
        first: int | None = None
        if self._error is None:
            models = [self._with_local_state(m) for m in self._models]
            for name, members in grouped(models, query):
                options.append(self._header(name, len(members)))
                for model in members:
                    rows: list[tuple[str, ModelInstance | None]] = [
                        (f"{_MODEL_PREFIX}{model.id}", None)
                    ]
                    if len(model.instances) > 1:
                        rows += [(f"{_INSTANCE_PREFIX}{i.id}", i) for i in model.instances]
                    for option_id, instance in rows:
                        self._shown[option_id] = (model, instance)
                        if first is None:
                            first = len(options)
                        if option_id == keep_id:
                            restore = len(options)
                        line = self._line(model) if instance is None else self._inst_line(instance)
                        options.append(Option(line, id=option_id))
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
        state = model.state
        if state == "loading":
            marker: tuple[str, str] = ("◐", "$text-warning")
        elif state == "unknown":
            marker = ("·", "dim")
        elif state == "loaded":
            marker = ("●", "$text-success")
        else:
            marker = ("○", "dim")
        parts: list[Content | tuple[str, str] | str] = [
            ("▸" if active else " ", "bold $text-accent"),
            marker,
            " ",
            (make_inert(model.label), "bold" if active else ""),
        ]
        if len(model.instances) > 1:
            parts.append((f" ×{len(model.instances)}", "$text-accent"))
        badge = kind_badge(model)
        if badge:
            parts.append((f" {badge}", "dim italic"))
        return Content.assemble(*parts)

    def _inst_line(self, instance: ModelInstance) -> Content:
        ctx = instance.config.context_length
        suffix = instance.id.rsplit(":", 1)[-1] if ":" in instance.id else "1"
        return Content.assemble(
            "   └ ",
            (f"#{make_inert(suffix)}", ""),
            (f" ctx {ctx:,}" if ctx else "", "dim"),
            (" loading" if instance.loading else "", "$text-warning"),
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
            text = NO_MODELS if self._can_load else NO_CHAT_MODELS
        elif not self._shown:
            text = f"No models match “{query.strip()}”"
        elif self._hint:
            text = self._hint
        elif all(m.is_embedding for m in self._models):
            text = NO_CHAT_MODELS_V1 if self._can_load else NO_CHAT_MODELS
        elif self._none_loaded():
            key = self._key_for("load", prefer="L") if self._can_load else None
            text = none_loaded_text(key, jit=self._jit)
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
        return not any(m.loaded or m.state == "loading" for m in chat_models)

    def _show_details(self) -> None:
        if not self.is_mounted:
            return
        details = self.query_one("#sidebar-details", Static)
        row = self._highlighted_row()
        if row is None:
            details.set_class(False, "-shown")
            return
        model, instance = row
        if instance is None and len(model.instances) == 1:
            instance = model.instances[0]
        rows = model_details(model, instance, ttl=self._ttl)
        width = max(len(label) for label, _ in rows)
        lines = [Content.styled(make_inert(model.id), "bold $text")]
        for label, value in rows:
            shown = badges(model.capabilities) if label == "Caps" else Content(make_inert(value))
            lines.append(Content.assemble((label.ljust(width), "bold"), " ", shown))
        details.update(Content("\n").join(lines))
        details.set_class(True, "-shown")
