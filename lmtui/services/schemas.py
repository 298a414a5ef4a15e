"""Checking structured replies against the JSON Schema they were asked to follow.

One function, :func:`check_reply`, used by ``lmtui ask``, ``lmtui batch`` and the
TUI: it finds the JSON in a reply (the content, a fenced block in it, or — a known
LM Studio behaviour — the reasoning field), validates it with the ``jsonschema``
library and says plainly what was wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lmtui.backend.errors import ConfigError, LmtuiError
from lmtui.backend.types import JSON, SamplingParams
from lmtui.store.schema_files import read_schema_file, response_format_for, schema_of

# More messages than this helps no one: the first few say what to fix.
MAX_ERRORS = 8
REASONING_NOTE = "the JSON answer came in the reasoning field, not the content; it was used"

Source = Literal["content", "reasoning", "none"]


class SchemaInvalid(LmtuiError):
    """A reply that does not follow the JSON Schema it was asked to follow."""

    exit_code = 20
    kind = "schema_invalid"


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """The outcome of checking one reply.

    ``value`` is the parsed JSON (None when none was found), ``errors`` one line per
    problem (empty when valid), ``source`` where the JSON was found and ``note`` a
    line to show the user when something unusual happened (empty otherwise).
    """

    value: Any
    errors: tuple[str, ...]
    source: Source
    note: str = ""

    @property
    def valid(self) -> bool:
        """True when JSON was found and it follows the schema."""
        return self.source != "none" and not self.errors

    def to_json(self) -> JSON:
        """A plain mapping for JSON output (``lmtui ask --json``, batch rows)."""
        return {
            "valid": self.valid,
            "errors": list(self.errors),
            "source": self.source,
            "note": self.note or None,
        }


def schema_params(path: Path) -> SamplingParams:
    """Parameters that ask for the schema in ``path`` (``--schema FILE``)."""
    schema = read_schema_file(path)
    return SamplingParams(response_format=response_format_for(schema, path.stem))


def requested_schema(params: SamplingParams) -> JSON | None:
    """The JSON Schema a request asks the reply to follow, if any."""
    return schema_of(params.response_format)


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n\s*```", re.DOTALL)


def find_json(text: str) -> tuple[bool, Any]:
    """``(True, value)`` for the JSON in ``text``: the whole text, a fenced block, or
    the outermost ``{...}``/``[...]``; ``(False, None)`` when there is none."""
    stripped = text.strip()
    if not stripped:
        return False, None
    candidates = [stripped]
    candidates.extend(m.group(1) for m in _FENCE.finditer(text))
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if 0 <= start < end:
            candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            return True, json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return False, None


def validation_errors(value: Any, schema: JSON) -> tuple[str, ...]:
    """One line per way ``value`` breaks ``schema``, most useful first."""
    from jsonschema.validators import validator_for

    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))
    lines = []
    for error in errors[:MAX_ERRORS]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        lines.append(f"${where}: {error.message}")
    if len(errors) > MAX_ERRORS:
        lines.append(f"… and {len(errors) - MAX_ERRORS} more")
    return tuple(lines)


def check_reply(content: str, reasoning: str, schema: JSON) -> SchemaCheck:
    """Find the JSON answer of a reply and validate it against ``schema``.

    The content is tried first; when it holds no JSON and the reasoning does (LM
    Studio 0.4.7 puts JSON-schema answers there), the reasoning's JSON is used
    and ``note`` says so.
    """
    found, value = find_json(content)
    source: Source = "content"
    note = ""
    if not found:
        found, value = find_json(reasoning)
        if found:
            source, note = "reasoning", REASONING_NOTE
    if not found:
        what = "an empty reply" if not content.strip() else "no JSON in the reply"
        return SchemaCheck(None, (f"$: {what}",), "none")
    return SchemaCheck(value, validation_errors(value, schema), source, note)


def load_schema_arg(value: str | None) -> SamplingParams | None:
    """``--schema FILE`` as parameters, or None when not given."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.suffix.lower() != ".json" and not path.exists():
        raise ConfigError(f"No schema file {path}.", "Give the path of a .json JSON Schema file.")
    return schema_params(path)
