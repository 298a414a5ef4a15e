"""The built-in presets follow the LM Studio guide lmtui was built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmtui.backend.params import validate_param
from lmtui.backend.types import Model
from lmtui.services.model_choice import model_matches
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.presets import read_preset_file, save_preset
from lmtui.store.schema_files import check_schema
from tests.seed_prompts import SEED_CODE, SEED_CONTENT, SEED_METADATA

# The guide's "Model Selection by Task" table (the embedding row is not a chat preset).
TASK_TABLE = [
    ("Invitation text", "mistral-7b-instruct", 0.8, SEED_CONTENT),
    ("TypeScript code", "qwen2.5-coder-7b-instruct", 0.3, SEED_CODE),
    ("Complex refactoring", "qwen/qwen3-coder-30b", 0.2, SEED_CODE),
    ("SQL", "sqlcoder-7b-2", 0.1, ""),
    ("Template descriptions", "phi-3.5-mini-instruct", 0.7, ""),
    ("Architecture planning", "deepseek-r1-distill-qwen-14b", 0.4, ""),
]


@pytest.mark.parametrize(("name", "model", "temperature", "prompt"), TASK_TABLE)
def test_task_table_rows(name: str, model: str, temperature: float, prompt: str) -> None:
    preset = next(p for p in BUILTIN_PRESETS if p.name == name)
    assert preset.params.temperature == temperature
    assert preset.system_prompt == prompt
    assert preset.description
    assert "\n" not in preset.description
    assert any(model in m for m in preset.models)
    # The guide's temperature plus a reply cap (issue 16: runaway replies); nothing else.
    assert set(preset.params.to_json()) == {"temperature", "max_tokens"}


def test_invitation_text_matches_the_installed_mistral_id() -> None:
    preset = next(p for p in BUILTIN_PRESETS if p.name == "Invitation text")
    for model_id in ("mistralai/mistral-7b-instruct-v0.3", "mistral-7b-instruct-v0.2@q4_k_m"):
        assert any(model_matches(m, model_id) for m in preset.models), model_id
    assert not any(model_matches(m, "mistralai/codestral-22b-v0.1") for m in preset.models)


def test_template_metadata_asks_for_a_strict_json_schema() -> None:
    preset = next(p for p in BUILTIN_PRESETS if p.name == "Template metadata")
    assert preset.system_prompt == SEED_METADATA
    fmt = preset.params.response_format
    assert fmt is not None and fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    fields = ["title", "category", "style", "color_palette", "keywords"]
    assert schema["required"] == fields
    assert list(schema["properties"]) == fields
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["category"]["enum"] == ["wedding", "birthday", "baby_shower", "other"]
    assert props["style"]["enum"] == ["modern", "elegant", "rustic", "minimalist", "playful"]
    for array_field in ("color_palette", "keywords"):
        assert props[array_field]["type"] == "array"
        assert props[array_field]["items"]["type"] == "string"
        assert props[array_field]["maxItems"] >= props[array_field]["minItems"] == 1
    check_schema(schema)  # a valid JSON Schema, as jsonschema reads it
    assert validate_param("response_format", fmt) == fmt


def test_general_has_no_preferences_but_a_reply_cap() -> None:
    general = next(p for p in BUILTIN_PRESETS if p.name == "General")
    assert (general.models, general.system_prompt) == ((), "")
    assert general.params.to_json() == {"max_tokens": 2048}


def test_every_builtin_is_valid_and_survives_saving(tmp_path: Path) -> None:
    names = [p.name.casefold() for p in BUILTIN_PRESETS]
    assert len(set(names)) == len(names)
    for preset in BUILTIN_PRESETS:
        assert preset.builtin and preset.path is None
        path = save_preset(preset, tmp_path)
        again = read_preset_file(path)
        assert (again.name, again.system_prompt, again.models, again.params) == (
            preset.name,
            preset.system_prompt,
            preset.models,
            preset.params,
        )


def test_builtin_models_are_not_embedding_only() -> None:
    embed = Model("text-embedding-nomic-embed-text-v1.5")
    for preset in BUILTIN_PRESETS:
        assert not any(model_matches(m, embed.id) for m in preset.models)
