"""Which model a conversation uses, and why.

The rules, the same for the TUI and the CLI: an explicit model wins; then the
preset's preferred models (ids or fnmatch patterns, best first), loaded ones
before ones the server would have to load; then a configured default model;
then the loaded chat model; then any
chat model the server lists (it may load it on demand). The reason is always
said: the choice is never silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from lmtui.backend.types import Model
from lmtui.store.presets import Preset

LOAD_REMEDY = "load one with `lms load <model>` (or LM Studio's Developer tab)"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model to use (None when there is none), why, and whether it is a fallback.

    ``fallback`` is True when the choice is not what was asked for: the preset's
    preferred models are missing, or no model is loaded and one had to be guessed.
    """

    model_id: str | None
    reason: str
    fallback: bool


def _names(model_id: str) -> set[str]:
    """The forms of an id a pattern may match: whole, without publisher, without @quant."""
    full = model_id.casefold()
    forms = {full, full.rsplit("/", 1)[-1]}
    forms |= {f.split("@", 1)[0] for f in forms}
    return forms


def model_matches(pattern: str, model_id: str) -> bool:
    """True when ``pattern`` (an id or fnmatch pattern, any case) names ``model_id``.

    A pattern may leave out the publisher (``qwen2.5-coder-7b-instruct`` matches
    ``lmstudio-community/qwen2.5-coder-7b-instruct``) and a ``@quantization`` suffix.
    """
    wanted = pattern.strip().casefold()
    return any(fnmatchcase(name, wanted) for name in _names(model_id))


def _first_match(patterns: Sequence[str], models: Sequence[Model]) -> tuple[Model, str] | None:
    for pattern in patterns:
        for model in models:
            if model_matches(pattern, model.id):
                return model, pattern
    return None


def _preferred(preset: Preset, chat: list[Model]) -> ModelChoice | None:
    label = f"preset '{preset.name}'"
    # Loaded models first: switching models is slow and may evict the loaded one.
    for group in (
        [m for m in chat if m.loaded is True],
        [m for m in chat if m.loaded is not True],
    ):
        found = _first_match(preset.models, group)
        if found is None:
            continue
        model, pattern = found
        wanted = pattern if model.id.casefold() == pattern.casefold() else f"{pattern} → {model.id}"
        if model.loaded is True:
            return ModelChoice(model.id, f"{label} prefers {wanted} (loaded)", False)
        if model.loaded is False:
            return ModelChoice(
                model.id,
                f"{label} prefers {wanted}: not loaded; the server may load it on demand (JIT)",
                False,
            )
        return ModelChoice(model.id, f"{label} prefers {wanted}", False)
    return None


def resolve_model(
    preset: Preset | None,
    explicit: str | None,
    available: Sequence[Model],
    *,
    default: str | None = None,
) -> ModelChoice:
    """Choose the model for a conversation and say why (see the module docstring).

    ``explicit`` is a model asked for on purpose (``--model``) and beats the preset;
    ``default`` is a configured everyday model, used only when the preset's
    preferences find nothing, before the loaded-model fallback.
    """
    if explicit:
        return _explicit(explicit, available)
    chat = [m for m in available if not m.is_embedding]
    prefix = ""
    missed = False
    if preset is not None and preset.models:
        choice = _preferred(preset, chat)
        if choice is not None:
            return choice
        first = preset.models[0]
        # "x*" after "x" only widens x to suffixed ids: naming it again adds nothing.
        rest = [m for m in preset.models[1:] if m != f"{first}*"]
        prefix = f"preferred {first} is not on this server"
        if rest:
            prefix += f" (nor anything matching {', '.join(rest)})"
        prefix += "; "
        missed = True
    if default:
        choice = _explicit(default, available)
        reason = choice.reason.replace(", as asked", ", the configured default model", 1)
        return ModelChoice(default, prefix + reason, missed)
    loaded = [m for m in chat if m.loaded is True]
    if loaded:
        return ModelChoice(loaded[0].id, f"{prefix}using loaded {loaded[0].id}", missed)
    if chat:
        model = chat[0]
        if model.loaded is None:
            reason = f"{prefix}using {model.id}, the first model the server lists"
            return ModelChoice(model.id, reason, missed)
        reason = f"{prefix}using {model.id}: not loaded; the server may load it on demand (JIT)"
        return ModelChoice(model.id, reason, True)
    if available:
        reason = f"{prefix}only embedding models on this server — load a chat model with "
        reason += "`lms load <model>`"
    else:
        reason = f"{prefix}no models on this server — {LOAD_REMEDY}"
    return ModelChoice(None, reason, True)


def _explicit(explicit: str, available: Sequence[Model]) -> ModelChoice:
    reason = f"using {explicit}, as asked"
    known = next((m for m in available if m.id.casefold() == explicit.casefold()), None)
    if available and known is None:
        reason += (
            "; the server does not list it, so it may refuse it "
            "(or, with one model loaded, answer with that one)"
        )
    elif known is not None and known.loaded is False:
        reason += "; not loaded, the server may load it on demand (JIT)"
    return ModelChoice(explicit, reason, False)
