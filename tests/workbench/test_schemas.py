"""JSON Schemas: preset keys, request bodies, reply validation, and ``lmtui ask --schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmtui.backend.errors import ConfigError
from lmtui.services.schemas import REASONING_NOTE, SchemaInvalid, check_reply, find_json
from lmtui.store import paths
from lmtui.store.presets import preset_to_toml, read_preset_file, save_preset
from lmtui.store.schema_files import schema_of
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer, Reply

COLOUR_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "style": {"type": "string", "enum": ["modern", "rustic"]},
    },
    "required": ["title", "style"],
    "additionalProperties": False,
}


def _write_preset(directory: Path, text: str, name: str = "card.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, "utf-8")
    return path


# ---- presets ---------------------------------------------------------------------------


def test_inline_schema_table_becomes_response_format(tmp_path: Path) -> None:
    path = _write_preset(
        tmp_path,
        'name = "Card"\n'
        "[schema]\n"
        'type = "object"\n'
        'required = ["title"]\n'
        "[schema.properties.title]\n"
        'type = "string"\n',
    )
    preset = read_preset_file(path)
    rf = preset.params.response_format
    assert rf is not None and rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "Card"
    assert rf["json_schema"]["strict"] is True
    assert schema_of(rf) == {
        "type": "object",
        "required": ["title"],
        "properties": {"title": {"type": "string"}},
    }


def test_schema_path_is_relative_to_the_preset_file(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "card.json").write_text(json.dumps(COLOUR_SCHEMA), "utf-8")
    path = _write_preset(tmp_path, 'name = "Card"\nschema = "schemas/card.json"\n')
    preset = read_preset_file(path)
    assert schema_of(preset.params.response_format) == COLOUR_SCHEMA
    assert preset.schema_file == "schemas/card.json"


def test_schema_path_round_trips_as_a_path(tmp_path: Path) -> None:
    (tmp_path / "card.json").write_text(json.dumps(COLOUR_SCHEMA), "utf-8")
    path = _write_preset(tmp_path, 'name = "Card"\nschema = "card.json"\n')
    preset = read_preset_file(path)
    text = preset_to_toml(preset)
    assert 'schema = "card.json"' in text
    assert "response_format" not in text
    saved = save_preset(preset, tmp_path, overwrite=True)
    again = read_preset_file(saved)
    assert again.params.response_format == preset.params.response_format


def test_inline_schema_round_trips_inline(tmp_path: Path) -> None:
    path = _write_preset(
        tmp_path,
        'name = "Card"\nschema = { type = "object", properties = { n = { type = "integer" } } }\n',
    )
    preset = read_preset_file(path)
    target = tmp_path / "out"
    saved = save_preset(preset, target)
    text = saved.read_text("utf-8")
    assert "[schema" in text and "response_format" not in text
    assert read_preset_file(saved).params.response_format == preset.params.response_format


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('schema = "missing.json"\n', "Cannot read schema file"),
        ('schema = { type = "no-such-type" }\n', "not a valid JSON Schema"),
        ("schema = 3\n", "must be an object"),
        (
            'schema = { type = "object" }\n[params]\nresponse_format = { type = "text" }\n',
            "not both",
        ),
    ],
)
def test_broken_schema_is_reported_with_file_and_line(
    tmp_path: Path, body: str, words: str
) -> None:
    path = _write_preset(tmp_path, 'name = "Card"\n' + body)
    with pytest.raises(ConfigError) as info:
        read_preset_file(path)
    assert str(path) in info.value.message
    assert words in info.value.message
    assert "line" in info.value.message or "top level" in info.value.message


def test_bad_json_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "card.json").write_text("{not json", "utf-8")
    path = _write_preset(tmp_path, 'name = "Card"\nschema = "card.json"\n')
    with pytest.raises(ConfigError) as info:
        read_preset_file(path)
    assert "card.json" in info.value.message and "not valid JSON" in info.value.message


# ---- validation ------------------------------------------------------------------------


def test_valid_reply() -> None:
    check = check_reply('{"title": "Spring", "style": "modern"}', "", COLOUR_SCHEMA)
    assert check.valid and check.source == "content" and not check.note
    assert check.value == {"title": "Spring", "style": "modern"}


def test_invalid_reply_names_the_field_and_the_rule() -> None:
    check = check_reply('{"title": 3, "style": "baroque"}', "", COLOUR_SCHEMA)
    assert not check.valid
    assert any(e.startswith("$.style:") and "'baroque' is not one of" in e for e in check.errors)
    assert any(e.startswith("$.title:") and "not of type 'string'" in e for e in check.errors)


def test_missing_field_and_extra_field() -> None:
    check = check_reply('{"title": "x", "colour": "red"}', "", COLOUR_SCHEMA)
    assert not check.valid
    joined = " ".join(check.errors)
    assert "'style' is a required property" in joined
    assert "'colour' was unexpected" in joined


def test_fenced_json_is_found() -> None:
    text = 'Here you go:\n```json\n{"title": "A", "style": "rustic"}\n```\n'
    assert check_reply(text, "", COLOUR_SCHEMA).valid


def test_json_in_the_reasoning_field_is_used_with_a_note() -> None:
    check = check_reply("", '{"title": "A", "style": "rustic"}', COLOUR_SCHEMA)
    assert check.valid and check.source == "reasoning" and check.note == REASONING_NOTE


def test_no_json_at_all() -> None:
    check = check_reply("I cannot do that.", "hmm", COLOUR_SCHEMA)
    assert not check.valid and check.source == "none"
    assert check.errors == ("$: no JSON in the reply",)
    assert find_json("") == (False, None)


# ---- lmtui ask --schema / --preset -----------------------------------------------------


def _schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "colour.json"
    path.write_text(json.dumps(COLOUR_SCHEMA), "utf-8")
    return path


def test_ask_schema_sends_response_format_and_prints_the_json(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    schema = _schema_file(tmp_path)
    done = run_lmtui(
        "ask", "--base-url", fake_server.base_url, "--no-save", "--schema", str(schema), "A card"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"title": "Floral wedding invitation", "style": "modern"}
    body = fake_server.requests_to("/v1/chat/completions")[0].json_body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "colour", "strict": True, "schema": COLOUR_SCHEMA},
    }


def test_ask_schema_invalid_reply_exits_with_its_own_code(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(text='{"title": "A", "style": "baroque"}'))
    done = run_lmtui(
        "ask",
        "--base-url",
        fake_server.base_url,
        "--no-save",
        "--schema",
        str(_schema_file(tmp_path)),
        "x",
    )
    assert done.returncode == SchemaInvalid.exit_code == 20
    assert json.loads(done.stdout) == {"title": "A", "style": "baroque"}
    assert "does not follow the schema" in done.stderr
    assert "$.style: 'baroque' is not one of ['modern', 'rustic']" in done.stderr
    assert "Traceback" not in done.stderr


def test_ask_schema_json_output_carries_the_check(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(text="", reasoning=['{"title": "A", "style": "rustic"}']))
    done = run_lmtui(
        "ask",
        "--base-url",
        fake_server.base_url,
        "--no-save",
        "--json",
        "--schema",
        str(_schema_file(tmp_path)),
        "x",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["schema"]["valid"] is True
    assert data["schema"]["source"] == "reasoning"
    assert data["schema"]["value"] == {"title": "A", "style": "rustic"}
    assert REASONING_NOTE in done.stderr


def test_ask_with_a_user_preset_schema(fake_server: FakeServer, run_lmtui: RunLmtui) -> None:
    directory = paths.presets_dir()  # the test's isolated one
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "colour.json").write_text(json.dumps(COLOUR_SCHEMA), "utf-8")
    _write_preset(directory, 'name = "Colour card"\nschema = "colour.json"\n')
    done = run_lmtui(
        "ask", "--base-url", fake_server.base_url, "--no-save", "--preset", "Colour card", "x"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["style"] == "modern"
    body = fake_server.requests_to("/v1/chat/completions")[0].json_body
    assert body["response_format"]["json_schema"]["schema"] == COLOUR_SCHEMA


def test_ask_schema_file_problems_are_one_line(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": 12}', "utf-8")
    done = run_lmtui("ask", "--base-url", fake_server.base_url, "--schema", str(bad), "x")
    assert done.returncode == 2
    assert "not a valid JSON Schema" in done.stderr and "Traceback" not in done.stderr
    assert fake_server.requests_to("/v1/chat/completions") == []
