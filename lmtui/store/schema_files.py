"""JSON Schemas for structured output: read from preset files, checked, turned into requests.

A preset's ``schema`` is an inline TOML table or a path to a ``.json`` file
(relative to the preset file). Either way it becomes the request's
``response_format`` (``{"type": "json_schema", "json_schema": {...}}``), which
is the one place replies are later validated from (:mod:`lmtui.services.schemas`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lmtui.backend.errors import ConfigError
from lmtui.backend.types import JSON

# A schema is a few KB; a bigger file is almost certainly the wrong file.
MAX_SCHEMA_BYTES = 1_000_000


def check_schema(schema: object) -> JSON:
    """Return ``schema`` when it is a valid JSON Schema; ValueError with the reason otherwise."""
    if not isinstance(schema, dict):
        raise ValueError(f"a JSON Schema must be an object, not {type(schema).__name__}")
    # Imported here: only presets and commands that use a schema pay for it (~50 ms).
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    return schema


def read_schema_file(path: Path) -> JSON:
    """Read and check a ``.json`` schema file; :class:`ConfigError` naming the file otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_SCHEMA_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is too big for a JSON Schema (limit {MAX_SCHEMA_BYTES}).",
                "Point the schema at the right file.",
            )
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read schema file {path}: {exc.strerror or exc}.",
            "Check the path (relative paths start from the preset file's folder).",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text.", "Save the schema as UTF-8 JSON.") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}).", "Fix the JSON syntax.") from None
    try:
        return check_schema(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}.", "Fix the schema.") from None


def schema_name(label: str) -> str:
    """A ``json_schema.name`` from a preset or file name (OpenAI allows ``[A-Za-z0-9_-]``)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", label.strip()).strip("_")
    return name[:64] or "reply"


def response_format_for(schema: JSON, name: str, *, strict: bool = True) -> JSON:
    """The ``response_format`` that asks the server to follow ``schema``.

    ``strict`` is sent because LM Studio and OpenAI honour it; llama.cpp ignores it
    and enforces the schema with a grammar anyway.
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name(name), "strict": strict, "schema": schema},
    }


def schema_of(response_format: Any) -> JSON | None:
    """The JSON Schema inside a ``response_format``, or None when it asks for none."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    block = response_format.get("json_schema")
    if not isinstance(block, dict):
        return None
    schema = block.get("schema")
    return schema if isinstance(schema, dict) else None
