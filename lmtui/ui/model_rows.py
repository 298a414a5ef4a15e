"""What the model sidebar shows about models: groups, badges, details, its notices.

Pure functions and texts, kept apart from the widget (:mod:`lmtui.ui.sidebar`).
"""

from __future__ import annotations

from dataclasses import replace

from textual.content import Content

from lmtui.backend.types import Model, ModelInstance
from lmtui.services.model_admin import describe_config, human_size
from lmtui.services.terminal_text import make_inert

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

MODEL_PREFIX = "model:"
INSTANCE_PREFIX = "inst:"
HEADER_PREFIX = "group:"


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
    context = context_text(model, instance)
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


def context_text(model: Model, instance: ModelInstance | None = None) -> str:
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
