"""Preset files: save → load gives back the same preset, whatever it holds."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmtui.backend.types import SamplingParams
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.presets import Preset, load_presets, read_preset_file, save_preset

# Any unicode text, control characters and newlines included (Hypothesis leaves out surrogates).
names = st.text(min_size=1, max_size=40).map(str.strip).filter(bool)
texts = st.text(max_size=200)
multiline = st.lists(st.text(max_size=40), min_size=2, max_size=6).map("\n".join)
stop_text = st.text(min_size=1, max_size=12)

json_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
schema_formats = st.builds(
    lambda name, schema: {
        "type": "json_schema",
        "json_schema": {"name": name, "strict": True, "schema": schema},
    },
    st.text(min_size=1, max_size=20),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


sampling = st.builds(
    SamplingParams,
    temperature=_maybe(st.floats(min_value=0, max_value=2)),
    max_tokens=_maybe(st.just(-1) | st.integers(min_value=1, max_value=2**40)),
    top_p=_maybe(st.floats(min_value=0, max_value=1)),
    top_k=_maybe(st.integers(min_value=0, max_value=10**6)),
    min_p=_maybe(st.floats(min_value=0, max_value=1)),
    stop=_maybe(stop_text | st.lists(stop_text, min_size=1, max_size=4).map(tuple)),
    presence_penalty=_maybe(st.floats(min_value=-2, max_value=2)),
    frequency_penalty=_maybe(st.floats(min_value=-2, max_value=2)),
    repeat_penalty=_maybe(st.floats(min_value=0, max_value=2, exclude_min=True)),
    seed=_maybe(st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    ttl=_maybe(st.integers(min_value=1, max_value=10**9)),
    response_format=_maybe(st.just({"type": "text"}) | schema_formats),
)

presets = st.builds(
    Preset,
    name=names,
    description=texts,
    system_prompt=texts | multiline,
    models=st.lists(st.text(min_size=1, max_size=30).map(str.strip).filter(bool), max_size=3).map(
        tuple
    ),
    params=sampling,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(presets)
def test_save_then_load_gives_the_same_preset(preset: Preset) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "presets"
        path = save_preset(preset, directory)
        assert read_preset_file(path) == replace(preset, path=path)
        loaded = load_presets(directory)
        assert loaded.errors == ()
        assert loaded.get(preset.name) == replace(preset, path=path)


def test_every_param_kind_survives_a_round_trip(tmp_path: Path) -> None:
    preset = Preset(
        name="Everything ✨",
        description="all of it",
        system_prompt='Line one\n"""quoted"""\n\ttabbed \\ backslash\n',
        models=("sqlcoder-*", "qwen2.5-coder-7b-instruct"),
        params=SamplingParams(
            temperature=0.1,
            max_tokens=-1,
            top_p=0.9,
            top_k=40,
            min_p=0.05,
            stop=("\n\n", "END"),
            presence_penalty=-1.5,
            frequency_penalty=0.5,
            repeat_penalty=1.1,
            seed=-(2**63),
            ttl=600,
            response_format=BUILTIN_PRESETS[-1].params.response_format,
        ),
    )
    path = save_preset(preset, tmp_path)
    assert path.name == "everything.toml"
    assert read_preset_file(path) == replace(preset, path=path)


def test_single_model_is_written_as_model_key(tmp_path: Path) -> None:
    path = save_preset(Preset(name="One", models=("m1",)), tmp_path)
    text = path.read_text("utf-8")
    assert 'model = "m1"' in text
    assert "models" not in text


def test_carriage_returns_survive_anywhere(tmp_path: Path) -> None:
    # TOML folds CRLF to LF inside triple-quoted strings; the writer must avoid them here.
    preset = Preset(
        name="Windows paste",
        system_prompt="line one\r\nline two\r\n",
        params=SamplingParams(stop=("\r\n\r\n", "x")),
    )
    path = save_preset(preset, tmp_path)
    loaded = read_preset_file(path)
    assert loaded.system_prompt == "line one\r\nline two\r\n"
    assert loaded.params.stop == ("\r\n\r\n", "x")


def test_readable_prompts_use_triple_quotes(tmp_path: Path) -> None:
    path = save_preset(Preset(name="Poet", system_prompt="Write verse.\nRhyme it."), tmp_path)
    assert 'system_prompt = """\nWrite verse.\nRhyme it."""' in path.read_text("utf-8")
