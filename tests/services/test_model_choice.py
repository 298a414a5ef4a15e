"""Choosing a conversation's model (lmtui.services.model_choice)."""

from __future__ import annotations

import pytest

from lmtui.backend.types import Model, ModelType
from lmtui.services.model_choice import model_matches, resolve_model
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.presets import Preset

SQL = next(p for p in BUILTIN_PRESETS if p.name == "SQL")
GENERAL = next(p for p in BUILTIN_PRESETS if p.name == "General")
EMBED = Model("text-embedding-nomic-embed-text-v1.5", type=ModelType.EMBEDDINGS, loaded=True)


def llm(model_id: str, loaded: bool | None) -> Model:
    return Model(model_id, type=ModelType.LLM, loaded=loaded)


def test_explicit_model_wins_over_preset() -> None:
    available = [llm("sqlcoder-7b-2", True), llm("other", False)]
    choice = resolve_model(SQL, "other", available)
    assert (choice.model_id, choice.fallback) == ("other", False)
    assert "other" in choice.reason and "as asked" in choice.reason
    assert "not loaded" in choice.reason


def test_explicit_model_the_server_does_not_list_is_still_used_with_a_warning() -> None:
    choice = resolve_model(None, "ghost", [llm("real", True)])
    assert choice.model_id == "ghost"
    assert "does not list it" in choice.reason


def test_preferred_loaded_model() -> None:
    choice = resolve_model(
        SQL, None, [llm("qwen2.5-coder-7b-instruct", True), llm("sqlcoder-7b-2", True)]
    )
    assert (choice.model_id, choice.fallback) == ("sqlcoder-7b-2", False)
    assert choice.reason == "preset 'SQL' prefers sqlcoder-7b-2 (loaded)"


def test_preferred_model_that_is_not_loaded_is_used_with_jit_note() -> None:
    choice = resolve_model(SQL, None, [llm("qwen", True), llm("sqlcoder-7b-2", False)])
    assert (choice.model_id, choice.fallback) == ("sqlcoder-7b-2", False)
    assert "not loaded" in choice.reason and "JIT" in choice.reason


def test_loaded_match_of_a_later_pattern_beats_an_unloaded_first_choice() -> None:
    preset = Preset(name="P", models=("big-model", "small-*"))
    available = [llm("big-model", False), llm("publisher/small-7b@q4_k_m", True)]
    choice = resolve_model(preset, None, available)
    assert choice.model_id == "publisher/small-7b@q4_k_m"
    assert "small-* → publisher/small-7b@q4_k_m" in choice.reason


def test_pattern_order_decides_among_loaded_models() -> None:
    preset = Preset(name="P", models=("b*", "a*"))
    choice = resolve_model(preset, None, [llm("a1", True), llm("b1", True)])
    assert choice.model_id == "b1"


def test_missing_preference_falls_back_to_the_loaded_model_and_says_so() -> None:
    available = [EMBED, llm("qwen2.5-coder-7b-instruct", True), llm("phi", False)]
    choice = resolve_model(SQL, None, available)
    assert (choice.model_id, choice.fallback) == ("qwen2.5-coder-7b-instruct", True)
    assert choice.reason.startswith("preferred sqlcoder-7b-2 is not on this server")
    assert choice.reason.endswith("; using loaded qwen2.5-coder-7b-instruct")


def test_no_preference_uses_the_loaded_model_without_calling_it_a_fallback() -> None:
    choice = resolve_model(GENERAL, None, [EMBED, llm("a", False), llm("b", True)])
    assert (choice.model_id, choice.fallback, choice.reason) == ("b", False, "using loaded b")


def test_nothing_loaded_picks_the_first_llm_and_mentions_jit() -> None:
    choice = resolve_model(SQL, None, [EMBED, llm("phi-3.5-mini-instruct", False)])
    assert (choice.model_id, choice.fallback) == ("phi-3.5-mini-instruct", True)
    assert "not on this server" in choice.reason
    assert "not loaded; the server may load it on demand (JIT)" in choice.reason


def test_plain_v1_server_without_load_state() -> None:
    choice = resolve_model(None, None, [llm("/models/smollm2.gguf", None)])
    assert (choice.model_id, choice.fallback) == ("/models/smollm2.gguf", False)
    assert "first model the server lists" in choice.reason


@pytest.mark.parametrize(
    ("available", "fragment"),
    [
        ([], "no models on this server — load one with `lms load <model>`"),
        ([EMBED], "only embedding models on this server"),
    ],
)
def test_no_chat_model_gives_none_and_a_remedy(available: list[Model], fragment: str) -> None:
    for preset in (None, SQL):
        choice = resolve_model(preset, None, available)
        assert (choice.model_id, choice.fallback) == (None, True)
        assert fragment in choice.reason
        assert "lms load" in choice.reason


def test_embedding_models_never_satisfy_a_preference() -> None:
    preset = Preset(name="E", models=("text-embedding-*",))
    choice = resolve_model(preset, None, [EMBED, llm("chat", True)])
    assert choice.model_id == "chat"
    assert choice.fallback


def test_reason_lists_extra_patterns_when_nothing_matches() -> None:
    preset = Preset(name="P", models=("x", "y*"))
    choice = resolve_model(preset, None, [llm("z", True)])
    assert "preferred x is not on this server (nor anything matching y*)" in choice.reason


@pytest.mark.parametrize(
    ("pattern", "model_id", "expected"),
    [
        ("qwen2.5-coder-7b-instruct", "qwen2.5-coder-7b-instruct", True),
        ("QWEN2.5-coder-7b-instruct", "lmstudio-community/qwen2.5-coder-7b-instruct", True),
        ("qwen2.5-coder-7b-instruct", "qwen2.5-coder-7b-instruct@q8_0", True),
        ("qwen/qwen3-coder-30b", "qwen/qwen3-coder-30b", True),
        ("qwen/qwen3-coder-30b", "other/qwen3-coder-30b", False),
        ("sqlcoder-*", "sqlcoder-7b-2", True),
        ("*mistral-7b-instruct*", "mistralai/mistral-7b-instruct-v0.3", True),
        ("sqlcoder-7b-2", "sqlcoder-7b-20", False),
        ("phi-3.5-mini-instruct", "phi-3.5-mini-instruct-extra", False),
    ],
)
def test_model_matches(pattern: str, model_id: str, expected: bool) -> None:
    assert model_matches(pattern, model_id) is expected


def test_reason_skips_a_pattern_that_only_widens_the_first_id() -> None:
    choice = resolve_model(SQL, None, [llm("qwen", True)])
    assert choice.reason == "preferred sqlcoder-7b-2 is not on this server; using loaded qwen"


def test_configured_default_yields_to_a_preset_preference() -> None:
    available = [llm("sqlcoder-7b-2", False), llm("everyday", True)]
    choice = resolve_model(SQL, None, available, default="everyday")
    assert choice.model_id == "sqlcoder-7b-2"


def test_configured_default_beats_the_loaded_fallback() -> None:
    available = [llm("loaded-one", True), llm("everyday", False)]
    choice = resolve_model(SQL, None, available, default="everyday")
    assert (choice.model_id, choice.fallback) == ("everyday", True)
    assert choice.reason == (
        "preferred sqlcoder-7b-2 is not on this server; using everyday, the configured "
        "default model; not loaded, the server may load it on demand (JIT)"
    )
    plain = resolve_model(GENERAL, None, available, default="everyday")
    assert (plain.model_id, plain.fallback) == ("everyday", False)
