"""Loading, overriding, saving and deleting presets (lmtui.store.presets)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.backend.types import SamplingParams
from lmtui.store import paths
from lmtui.store.builtin_presets import BUILTIN_PRESETS
from lmtui.store.presets import (
    Preset,
    delete_preset,
    duplicate,
    find_preset_file,
    load_presets,
    preset_from_current,
    read_preset_file,
    save_preset,
    slugify,
)

GOOD = """\
name = "Reviewer"
description = "Code review"
system_prompt = \"\"\"
Review the diff.
Be brief.\"\"\"
models = ["qwen2.5-coder-*", "codegemma-7b-it"]

[params]
temperature = 0.2
max_tokens = 800
stop = ["###"]
response_format = { type = "json_schema", json_schema = { name = "r", schema = { type = "object" }}}
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def pdir(tmp_path: Path) -> Path:
    return tmp_path / "presets"


def test_default_directory_is_under_xdg_config(xdg_dirs: Path) -> None:
    assert paths.presets_dir().is_relative_to(xdg_dirs)
    save_preset(Preset(name="Mine"))
    assert (paths.presets_dir() / "mine.toml").is_file()
    assert load_presets().get("mine") is not None


def test_no_directory_gives_the_builtins(pdir: Path) -> None:
    loaded = load_presets(pdir)
    assert loaded.all() == BUILTIN_PRESETS
    assert loaded.errors == ()
    assert all(p.builtin and p.path is None for p in loaded)


def test_a_good_file_loads_with_every_field(pdir: Path) -> None:
    path = write(pdir, "review.toml", GOOD)
    preset = load_presets(pdir).get("REVIEWER")
    assert preset == Preset(
        name="Reviewer",
        description="Code review",
        system_prompt="Review the diff.\nBe brief.",
        models=("qwen2.5-coder-*", "codegemma-7b-it"),
        params=SamplingParams(
            temperature=0.2,
            max_tokens=800,
            stop=("###",),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": {"type": "object"}},
            },
        ),
        builtin=False,
        path=path,
    )


def test_single_model_key_and_name_defaulting_to_file_stem(pdir: Path) -> None:
    write(pdir, "quick.toml", 'model = "phi-3.5-mini-instruct"\n')
    preset = load_presets(pdir).get("quick")
    assert preset is not None
    assert preset.models == ("phi-3.5-mini-instruct",)
    assert preset.params == SamplingParams()


def test_user_file_overrides_builtin_case_insensitively(pdir: Path) -> None:
    write(pdir, "my-sql.toml", 'name = "sql"\nmodel = "mine"\n[params]\ntemperature = 0.0\n')
    loaded = load_presets(pdir)
    names = loaded.names()
    assert names.count("sql") == 1
    assert "SQL" not in names
    # The replacement keeps the built-in's place in the list.
    assert names.index("sql") == [p.name for p in BUILTIN_PRESETS].index("SQL")
    sql = loaded.get("SQL")
    assert sql is not None and not sql.builtin
    assert sql.models == ("mine",)
    assert sql.params.temperature == 0.0
    assert loaded.overrides_builtin(sql)
    assert len(loaded) == len(BUILTIN_PRESETS)


def test_user_only_presets_follow_builtins_sorted(pdir: Path) -> None:
    write(pdir, "b.toml", 'name = "beta"\n')
    write(pdir, "a.toml", 'name = "Alpha"\n')
    names = load_presets(pdir).names()
    assert names[len(BUILTIN_PRESETS) :] == ["Alpha", "beta"]


BROKEN = [
    ("syntax.toml", 'name = "x"\ndescription = "unterminated\n', "line 2, column"),
    (
        "unknown_param.toml",
        'name = "u"\n[params]\ncolour = 1\n',
        "line 3: unknown parameter 'colour'",
    ),
    ("unknown_key.toml", 'name = "k"\nmodle = "x"\n', "line 2: unknown key 'modle'"),
    ("wrong_temp.toml", '[params]\ntemperature = "hot"\n', "line 2: temperature must be a number"),
    ("range.toml", "[params]\n\ntop_p = 1.5\n", "line 3: top_p must be 0 to 1"),
    ("models.toml", "models = 3\n", "line 1: 'models' must be a list"),
    ("both.toml", 'model = "a"\nmodels = ["b"]\n', "not both"),
    ("prompt.toml", "system_prompt = 5\n", "line 1: 'system_prompt' must be a string"),
    ("name.toml", 'name = ""\n', "'name' must be a non-empty string"),
    ("params.toml", "params = 1\n", "'params' must be a table"),
    ("jsonobj.toml", '[params.response_format]\ntype = "json_object"\n', "rejected by LM Studio"),
    ("stop.toml", '[params]\nstop = ["a", "b", "c", "d", "e"]\n', "at most 4"),
    ("bytes.toml", "name = 'caf\xe9'\n", "not UTF-8"),
]


@pytest.mark.parametrize(("file", "text", "fragment"), BROKEN)
def test_broken_file_is_reported_skipped_and_left_alone(
    pdir: Path, file: str, text: str, fragment: str
) -> None:
    pdir.mkdir(parents=True)
    path = pdir / file
    path.write_bytes(text.encode("latin-1") if file == "bytes.toml" else text.encode())
    before = path.read_bytes()
    write(pdir, "fine.toml", 'name = "Fine"\n')
    loaded = load_presets(pdir)
    assert len(loaded.errors) == 1
    message = loaded.errors[0].message
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message
    assert loaded.get("Fine") is not None
    assert len(loaded) == len(BUILTIN_PRESETS) + 1
    assert path.read_bytes() == before


def test_duplicate_names_keep_the_first_file_and_report_the_second(pdir: Path) -> None:
    write(pdir, "a.toml", 'name = "Same"\ndescription = "first"\n')
    write(pdir, "b.toml", 'name = "same"\ndescription = "second"\n')
    loaded = load_presets(pdir)
    same = loaded.get("SAME")
    assert same is not None and same.description == "first"
    assert len(loaded.errors) == 1
    assert "also defined in a.toml" in loaded.errors[0].message


def test_saved_files_are_private(pdir: Path) -> None:
    path = save_preset(Preset(name="Secret prompt", system_prompt="shh"), pdir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pdir.stat().st_mode) == 0o700
    assert [p.name for p in pdir.iterdir()] == ["secret-prompt.toml"]  # no temp file left


def test_save_refuses_to_replace_another_file(pdir: Path) -> None:
    other = write(pdir, "sql.toml", 'name = "Something else"\n')
    before = other.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        save_preset(Preset(name="SQL", description="new"), pdir)
    assert other.read_bytes() == before
    path = save_preset(Preset(name="SQL", description="new"), pdir, overwrite=True)
    assert path == other
    assert load_presets(pdir).get("sql") == Preset(name="SQL", description="new", path=path)


def test_save_refuses_a_name_another_file_holds(pdir: Path) -> None:
    holder = write(pdir, "custom-file-name.toml", 'name = "Writer"\n')
    with pytest.raises(ConfigError, match=r"named 'writer' already exists in .*custom-file-name"):
        save_preset(Preset(name="writer"), pdir)
    assert save_preset(Preset(name="writer"), pdir, overwrite=True) == holder
    assert load_presets(pdir).errors == ()


def test_saving_a_loaded_preset_writes_back_to_its_own_file(pdir: Path) -> None:
    path = write(pdir, "odd-name.toml", 'name = "Notes"\n')
    preset = load_presets(pdir).get("notes")
    assert preset is not None
    edited = Preset(name="Notes renamed", system_prompt="edited", path=preset.path, builtin=False)
    assert save_preset(edited, pdir) == path
    loaded = load_presets(pdir)
    assert loaded.get("Notes") is None
    renamed = loaded.get("notes renamed")
    assert renamed is not None and renamed.system_prompt == "edited"


def test_saving_a_builtin_copy_overrides_it(pdir: Path) -> None:
    sql = load_presets(pdir).get("SQL")
    assert sql is not None and sql.builtin
    edited = Preset(
        name=sql.name,
        description=sql.description,
        models=sql.models,
        params=sql.params.merged(SamplingParams(temperature=0.05)),
        builtin=True,
    )
    path = save_preset(edited, pdir)
    again = load_presets(pdir).get("sql")
    assert again is not None and again.path == path and not again.builtin
    assert again.params.temperature == 0.05


def test_save_rejects_invalid_params_and_nameless_presets(pdir: Path) -> None:
    with pytest.raises(ConfigError, match="temperature must be 0 to 2"):
        save_preset(Preset(name="Hot", params=SamplingParams(temperature=5.0)), pdir)
    with pytest.raises(ConfigError, match="needs a name"):
        save_preset(Preset(name="  "), pdir)
    assert not pdir.exists()


def test_delete_removes_the_user_file_and_restores_the_builtin(pdir: Path) -> None:
    path = write(pdir, "sql.toml", 'name = "SQL"\nmodel = "mine"\n')
    assert delete_preset("sql", pdir) == path
    assert not path.exists()
    sql = load_presets(pdir).get("SQL")
    assert sql is not None and sql.builtin


def test_delete_explains_builtins_and_missing_names(pdir: Path) -> None:
    with pytest.raises(ConfigError, match="built-in preset and cannot be deleted"):
        delete_preset("General", pdir)
    with pytest.raises(ConfigError, match="No preset file for 'nope'"):
        delete_preset("nope", pdir)


def test_duplicate_makes_an_unsaved_user_copy(pdir: Path) -> None:
    original = load_presets(pdir).get("TypeScript code")
    assert original is not None
    copy = duplicate(original, "  TS strict ")
    assert copy.name == "TS strict"
    assert (copy.builtin, copy.path) == (False, None)
    assert (copy.system_prompt, copy.models, copy.params) == (
        original.system_prompt,
        original.models,
        original.params,
    )
    path = save_preset(copy, pdir)
    assert path.name == "ts-strict.toml"
    with pytest.raises(ConfigError):
        duplicate(original, "")


def test_preset_from_current_settings(pdir: Path) -> None:
    params = SamplingParams(temperature=0.9, seed=7)
    preset = preset_from_current("Current", "Be terse.", "google/gemma-3-4b", params)
    assert preset == Preset(
        name="Current", system_prompt="Be terse.", models=("google/gemma-3-4b",), params=params
    )
    assert preset_from_current("No model", "", None, SamplingParams()).models == ()
    path = save_preset(preset, pdir)
    assert find_preset_file("CURRENT", pdir) == path


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("SQL", "sql"),
        ("Invitation text", "invitation-text"),
        ("  C++ / Rust!! ", "c-rust"),
        ("日本語のプリセット", "日本語のプリセット"),
        ("***", "preset"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_every_toml_example_in_the_docs_loads(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "presets.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text("utf-8"), re.S)
    assert len(blocks) >= 3
    for n, block in enumerate(blocks):
        path = write(tmp_path, f"example{n}.toml", block)
        assert read_preset_file(path).path == path
