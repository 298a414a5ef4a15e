"""Sampling parameters: what each one means, its allowed range, and validation.

Pure data and checks, shared by preset files, the CLI and the TUI's parameter
panel. Defaults and help text follow the parameter tables of the LM Studio guide
lmtui was built from; ``min_p``, ``ttl`` and ``response_format`` come from LM
Studio's own API documentation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lmtui.backend.types import JSON, PARAMETER_NAMES, SamplingParams

# TOML integers are signed 64-bit; a larger seed could not be saved in a preset.
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
MAX_STOP_SEQUENCES = 4


class ParamKind(StrEnum):
    """How a parameter's value is written and checked."""

    FLOAT = "float"
    INT = "int"
    STOP = "stop"  # one string or a list of strings
    RESPONSE_FORMAT = "response_format"  # a JSON object


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One sampling parameter as people see it.

    ``minimum``/``maximum`` are inclusive unless ``exclusive_minimum`` is set;
    None means unbounded. ``default`` is the value the server uses when the
    parameter is not sent, as documented (None when it depends on the model).
    """

    name: str
    kind: ParamKind
    minimum: float | None
    maximum: float | None
    default: float | int | None
    default_text: str
    help: str
    exclusive_minimum: bool = False

    @property
    def range_text(self) -> str:
        """The allowed values in words, e.g. ``0 to 2``."""
        if self.name == "max_tokens":
            return "-1 (no limit) or 1 and up"
        if self.kind is ParamKind.STOP:
            return f"a string or a list of up to {MAX_STOP_SEQUENCES} strings"
        if self.kind is ParamKind.RESPONSE_FORMAT:
            return '{type = "text"} or {type = "json_schema", json_schema = {...}}'
        low = _num(self.minimum)
        high = _num(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return f"above {low}, up to {high}"
            return f"{low} to {high}"
        if self.minimum is not None:
            return f"above {low}" if self.exclusive_minimum else f"{low} or more"
        return "any whole number" if self.kind is ParamKind.INT else "any number"


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "temperature",
        ParamKind.FLOAT,
        0.0,
        2.0,
        0.7,
        "0.7",
        "Randomness: lower for code and facts, higher for creative text.",
    ),
    ParamSpec(
        "max_tokens",
        ParamKind.INT,
        -1,
        None,
        None,
        "model max",
        "Most tokens to generate; -1 means no limit. A reply cut here ends with 'length'.",
    ),
    ParamSpec(
        "top_p",
        ParamKind.FLOAT,
        0.0,
        1.0,
        1.0,
        "1.0",
        "Nucleus sampling: pick from the smallest set of tokens whose probabilities add up to p.",
    ),
    ParamSpec(
        "top_k",
        ParamKind.INT,
        0,
        None,
        40,
        "40",
        "Top-k sampling: pick from the k most likely tokens (0 turns it off).",
    ),
    ParamSpec(
        "min_p",
        ParamKind.FLOAT,
        0.0,
        1.0,
        None,
        "server default",
        "Drop tokens less likely than min_p times the most likely one.",
    ),
    ParamSpec(
        "stop",
        ParamKind.STOP,
        None,
        None,
        None,
        "none",
        "Stop sequences: generation ends before any of them would be written.",
    ),
    ParamSpec(
        "presence_penalty",
        ParamKind.FLOAT,
        -2.0,
        2.0,
        0,
        "0",
        "Penalize repeated topics (positive values push toward new ones).",
    ),
    ParamSpec(
        "frequency_penalty",
        ParamKind.FLOAT,
        -2.0,
        2.0,
        0,
        "0",
        "Penalize repeated tokens in proportion to how often they appeared.",
    ),
    ParamSpec(
        "repeat_penalty",
        ParamKind.FLOAT,
        0.0,
        2.0,
        1.1,
        "1.1",
        "Repetition penalty (1 is off, above 1 discourages repeats).",
        exclusive_minimum=True,
    ),
    ParamSpec(
        "seed",
        ParamKind.INT,
        _INT64_MIN,
        _INT64_MAX,
        None,
        "random",
        "Random seed: the same seed, prompt and settings give a reproducible reply.",
    ),
    ParamSpec(
        "ttl",
        ParamKind.INT,
        1,
        None,
        None,
        "server default",
        "Seconds a model loaded on demand (JIT) stays loaded while idle.",
    ),
    ParamSpec(
        "response_format",
        ParamKind.RESPONSE_FORMAT,
        None,
        None,
        None,
        "text",
        "Structured output: a JSON schema the reply must follow.",
    ),
)

_SPECS_BY_NAME: dict[str, ParamSpec] = {s.name: s for s in PARAM_SPECS}


def param_spec(name: str) -> ParamSpec:
    """The spec of parameter ``name``; ValueError naming the known ones otherwise."""
    spec = _SPECS_BY_NAME.get(name)
    if spec is None:
        known = ", ".join(PARAMETER_NAMES)
        raise ValueError(f"unknown parameter '{name}' (known: {known})")
    return spec


def validate_param(name: str, raw: object) -> Any:
    """Check one parameter and return its value in the form :class:`SamplingParams` holds.

    ``raw`` is a value (from TOML or JSON) or, for numbers and ``response_format``,
    text typed by a person (``"0.7"``, ``'{"type": "text"}'``). ``None`` and blank
    number text mean "not set" and give None. A string for ``stop`` is always one
    literal stop sequence. Raises ValueError with a message fit to show as is.
    """
    spec = param_spec(name)
    if raw is None:
        return None
    if spec.kind is ParamKind.FLOAT:
        return _check_range(spec, _to_float(spec, raw))
    if spec.kind is ParamKind.INT:
        value = _to_int(spec, raw)
        if value is None:
            return None
        if name == "max_tokens" and value != -1 and value < 1:
            raise ValueError(f"max_tokens must be -1 (no limit) or at least 1, not {value}")
        return _check_range(spec, value)
    if spec.kind is ParamKind.STOP:
        return _to_stop(raw)
    return _to_response_format(raw)


def validate_params(data: Mapping[str, object]) -> SamplingParams:
    """Validate a whole ``[params]`` mapping into :class:`SamplingParams`.

    Raises ValueError for the first unknown or invalid parameter, naming it.
    """
    values: dict[str, Any] = {}
    for name, raw in data.items():
        value = validate_param(name, raw)
        if value is not None:
            values[name] = value
    return SamplingParams(**values)


def format_param(name: str, value: object) -> str:
    """A value as text for people: numbers as typed, ``stop`` and ``response_format`` as JSON.

    :func:`validate_param` reads the text back for numbers and ``response_format``.
    """
    spec = param_spec(name)
    if value is None:
        return ""
    if spec.kind is ParamKind.STOP and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if spec.kind in (ParamKind.STOP, ParamKind.RESPONSE_FORMAT):
        plain = list(value) if isinstance(value, tuple) else value
        return json.dumps(plain, ensure_ascii=False, sort_keys=False)
    return str(value)


def _is_blank_text(raw: object) -> bool:
    return isinstance(raw, str) and not raw.strip()


def _to_float(spec: ParamSpec, raw: object) -> float | None:
    if _is_blank_text(raw):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{spec.name} must be a number, not true/false")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"{spec.name} must be a number, not '{raw.strip()}'") from None
    else:
        raise ValueError(f"{spec.name} must be a number, not {_type_name(raw)}")
    if not math.isfinite(value):
        raise ValueError(f"{spec.name} must be a finite number")
    return value


def _to_int(spec: ParamSpec, raw: object) -> int | None:
    if _is_blank_text(raw):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{spec.name} must be a whole number, not true/false")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError(f"{spec.name} must be a whole number, not {raw}")
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{spec.name} must be a whole number, not '{text}'") from None
        if number.is_integer():
            return int(number)
        raise ValueError(f"{spec.name} must be a whole number, not {text}")
    raise ValueError(f"{spec.name} must be a whole number, not {_type_name(raw)}")


def _check_range(spec: ParamSpec, value: float | int | None) -> float | int | None:
    if value is None:
        return None
    low, high = spec.minimum, spec.maximum
    too_low = low is not None and (value <= low if spec.exclusive_minimum else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        raise ValueError(f"{spec.name} must be {spec.range_text}, not {_num(float(value))}")
    return value


def _to_stop(raw: object) -> str | tuple[str, ...]:
    if isinstance(raw, str):
        if not raw:
            raise ValueError("stop must not be an empty string")
        return raw
    if isinstance(raw, list | tuple):
        if not raw:
            raise ValueError("stop must list at least one string (or leave it out)")
        if len(raw) > MAX_STOP_SEQUENCES:
            raise ValueError(f"stop takes at most {MAX_STOP_SEQUENCES} strings, not {len(raw)}")
        for item in raw:
            if not isinstance(item, str):
                raise ValueError(f"stop must hold only strings, not {_type_name(item)}")
            if not item:
                raise ValueError("stop must not hold an empty string")
        return tuple(raw)
    raise ValueError(f"stop must be a string or a list of strings, not {_type_name(raw)}")


def _to_response_format(raw: object) -> JSON:
    if isinstance(raw, str):
        text = raw.strip()
        if text in ("text", "json_schema", "json_object"):
            raw = {"type": text}
        else:
            try:
                raw = json.loads(text)
            except ValueError:
                raise ValueError(
                    "response_format must be a JSON object such as "
                    '{"type": "json_schema", "json_schema": {...}}'
                ) from None
    if not isinstance(raw, dict):
        raise ValueError(f"response_format must be a table/object, not {_type_name(raw)}")
    kind = raw.get("type")
    if kind == "json_object":
        raise ValueError(
            'response_format type "json_object" is rejected by LM Studio; use '
            '{type = "json_schema", json_schema = {name = "...", schema = {...}}} instead'
        )
    if kind == "text":
        extra = sorted(set(raw) - {"type"})
        if extra:
            raise ValueError(f'response_format {{type = "text"}} takes no other keys: {extra}')
        return dict(raw)
    if kind != "json_schema":
        raise ValueError(
            f'response_format type must be "text" or "json_schema", not {json.dumps(kind)}'
        )
    extra = sorted(set(raw) - {"type", "json_schema"})
    if extra:
        raise ValueError(f"response_format has unknown keys: {', '.join(extra)}")
    schema_block = raw.get("json_schema")
    if not isinstance(schema_block, dict):
        raise ValueError('response_format type "json_schema" needs a json_schema table')
    schema = schema_block.get("schema")
    if not isinstance(schema, dict):
        raise ValueError(
            "response_format.json_schema needs a 'schema' table holding the JSON schema"
        )
    name = schema_block.get("name")
    if name is not None and not isinstance(name, str):
        raise ValueError("response_format.json_schema.name must be a string")
    return dict(raw)


def _type_name(value: object) -> str:
    names = {
        bool: "true/false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
