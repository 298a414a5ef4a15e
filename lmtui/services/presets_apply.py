"""Applying a preset to a running conversation.

Shared by the TUI's preset picker and anything else that switches presets mid-chat.
The preset replaces the conversation's system prompt and sampling parameters, and
its preferred models are resolved against what the server offers, with the
conversation's current model as the fallback. The reason for the model choice is
returned so the caller can show it: the choice is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from lmtui.backend.native_chat import Integration, Reasoning
from lmtui.backend.types import Model
from lmtui.services.chat import ChatSession
from lmtui.services.model_choice import resolve_model
from lmtui.store.presets import Preset

_DEFAULT_WORDS = ", the configured default model"
_CURRENT_WORDS = ", the model already in use"


def apply_preset(
    session: ChatSession,
    preset: Preset,
    available: Sequence[Model],
    integrations: Mapping[str, Integration] | None = None,
) -> str:
    """Set ``session``'s system prompt, parameters, preset name and model from ``preset``.

    ``available`` is the server's model list. The model follows the preset's
    preferences (loaded ones first); when none is on the server the session keeps
    its current model, and failing that the loaded model is used. Returns one line
    saying which model is used and why, e.g. ``"Using sqlcoder-7b-2: preset 'SQL'
    prefers sqlcoder-7b-2 (loaded)"`` or ``"Preferred sqlcoder-7b-2 is not on this server;
    using loaded qwen2.5-7b-instruct"``. When the server has no chat model and the
    session none either, the model stays unset and the line says so.
    """
    choice = resolve_model(preset, None, available, default=session.model)
    session.system_prompt = preset.system_prompt
    session.params = preset.params
    session.preset = preset.name
    session.reasoning = cast(Reasoning | None, preset.reasoning)
    # ``integrations``: the config's [integrations.NAME]; names it lacks are said below.
    known = integrations or {}
    session.integrations = tuple(known[n] for n in preset.integrations if n in known)
    missing = [n for n in preset.integrations if n not in known]
    if choice.model_id is not None:
        session.model = choice.model_id
    reason = choice.reason.replace(_DEFAULT_WORDS, _CURRENT_WORDS, 1)
    if choice.model_id is not None and "using " not in reason.casefold():
        reason = f"using {choice.model_id}: {reason}"
    if missing:
        reason += f" (integration {', '.join(missing)} is not in the config: not enabled)"
    return reason[:1].upper() + reason[1:]
