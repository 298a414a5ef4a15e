"""The presets lmtui ships with, by name, for code and tests that quote them.

They live as TOML files in ``lmtui/store/builtin/`` and are read by the same loader
as user presets (:func:`lmtui.store.presets.builtin_presets`). They follow the LM
Studio guide lmtui was built from: one preset per row of its "Model Selection by
Task" table (model and temperature as given there), its three system prompts word
for word, and a structured-output preset for template metadata. A user preset file
with the same name replaces a built-in.
"""

from __future__ import annotations

from lmtui.backend.types import JSON
from lmtui.store.presets import Preset, builtin_presets

BUILTIN_PRESETS: tuple[Preset, ...] = builtin_presets()


def _named(name: str) -> Preset:
    return next(p for p in BUILTIN_PRESETS if p.name == name)


CODE_PROMPT: str = _named("TypeScript code").system_prompt
CONTENT_PROMPT: str = _named("Invitation text").system_prompt
TEMPLATE_METADATA_PROMPT: str = _named("Template metadata").system_prompt
TEMPLATE_METADATA_FORMAT: JSON = _named("Template metadata").params.response_format or {}
