"""``lmtui ask`` with a JSON Schema or images: the parts that plain text asks do not need.

Kept apart from :mod:`lmtui.cli.ask` so that a plain ``lmtui ask`` imports none of it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``--schema`` and ``--image`` on ``lmtui ask``."""
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="JSON Schema file the reply must follow; prints the JSON, exit 20 if invalid",
    )
    p.add_argument(
        "--image",
        action="append",
        metavar="PATH",
        help="image for a vision model (PNG/JPEG/WebP/GIF, ≤ 20 MB; repeatable)",
    )


def schema_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``response_format`` for ``--schema FILE`` (empty without it)."""
    from lmtui.services.schemas import load_schema_arg

    params = load_schema_arg(getattr(args, "schema", None))
    return {} if params is None else {"response_format": params.response_format}


def read_images(args: argparse.Namespace) -> tuple[str, ...]:
    """The ``--image`` files as data URLs, every file checked before anything is sent."""
    from lmtui.services.images import load_images

    return load_images([Path(p).expanduser() for p in getattr(args, "image", None) or ()])


async def check_vision(client: Any, model: str) -> None:
    """Refuse images for a model the server says has no vision, before sending."""
    from lmtui.services.images import ensure_vision

    await ensure_vision(client, model)


def finish_structured(
    entry: Any, schema: dict[str, Any], *, json_output: bool, out: TextIO, err: TextIO
) -> tuple[int, dict[str, Any]]:
    """Check the reply against ``schema``; print the JSON (or, with --json, return it).

    Returns the exit code (0 valid, 20 invalid) and the check as a mapping for
    ``--json`` output. Errors and notes go to stderr.
    """
    from lmtui.services.reply_extras import JSON_IN_REASONING
    from lmtui.services.schemas import SchemaInvalid, check_reply
    from lmtui.services.terminal_text import make_inert

    # The session may have copied a JSON answer out of the reasoning: check it where it came.
    moved = getattr(entry, "answer_note", None) == JSON_IN_REASONING
    check = check_reply("" if moved else entry.content, entry.reasoning, schema)
    if check.note:
        print(f"lmtui: note: {check.note}", file=err)
    if not json_output and check.source != "none":
        text = json.dumps(check.value, indent=2, ensure_ascii=False)
        out.write((make_inert(text) if out.isatty() else text) + "\n")
        out.flush()
    elif not json_output and entry.content:
        out.write(make_inert(entry.content) if out.isatty() else entry.content)
        out.write("\n")
    code = 0
    if not check.valid:
        code = SchemaInvalid.exit_code
        print("lmtui: the reply does not follow the schema:", file=err)
        for line in check.errors:
            print(f"  {make_inert(line)}", file=err)
        print("  remedy: retry, lower the temperature, or pick a stronger model.", file=err)
    data = check.to_json() | {"value": check.value}
    return code, data


def tools_note(preset_name: str | None) -> str | None:
    """A note when the preset defines tools, which ``lmtui ask`` does not offer."""
    if not preset_name:
        return None
    from lmtui.store.presets import load_presets

    preset = load_presets().get(preset_name)
    if preset is None or not preset.tools:
        return None
    names = ", ".join(t.name for t in preset.tools)
    return (
        f"preset '{preset.name}' defines tools ({names}); lmtui ask does not offer them: "
        "use the app's F8 → Structured output and custom tools"
    )
