"""What the fake server needs for structured output, images, custom tools and batch pools.

Hooked into :mod:`tests.fake_server` with a few lines, so the wire behaviour stays
in one server:

- ``response_format`` with a JSON Schema: with no scripted reply, the answer is a
  JSON instance of the schema (as a server enforcing it with a grammar would send).
- images (``image_url`` parts) sent to a model that is not a vision model: LM
  Studio-shaped 400 error.
- ``Reply(tool_calls=[...])``: streamed ``delta.tool_calls`` with the arguments cut
  into pieces, several calls per reply, ``finish_reason: "tool_calls"``.
- ``FakeServer(tokens_per_second=..., slots=...)``: every streamed delta (one
  token) paced at that rate, at most ``slots`` replies generated at once (more
  wait their turn, as llama.cpp queues requests beyond its slots).
"""

from __future__ import annotations

import json
from typing import Any

JSON = dict[str, Any]


# ---- JSON Schema → an instance ----------------------------------------------------------


def schema_instance(schema: Any, depth: int = 0) -> Any:
    """A small value that follows ``schema`` (the subset replies use: objects, arrays,
    enums, consts, strings, numbers, booleans; ``anyOf``/``oneOf`` take the first)."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema_instance(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: schema_instance(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [schema_instance(schema.get("items") or {}, depth + 1) for _ in range(count)]
    if kind == "string":
        size = int(schema.get("minLength", 0))
        text = "Floral wedding invitation"
        return text + "x" * max(0, size - len(text))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    return None


def structured_text(body: JSON) -> str | None:
    """The JSON answer to a request with a ``json_schema`` response_format, else None."""
    rf = body.get("response_format")
    if not isinstance(rf, dict) or rf.get("type") != "json_schema":
        return None
    block = rf.get("json_schema")
    schema = block.get("schema") if isinstance(block, dict) else None
    return json.dumps(schema_instance(schema), ensure_ascii=False)


# ---- images -----------------------------------------------------------------------------


def image_urls(body: JSON) -> list[str]:
    """Every ``image_url`` sent in the request's messages."""
    urls: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url")
                if isinstance(url, str):
                    urls.append(url)
    return urls


def vision_refusal(model_type: str | None, body: JSON) -> tuple[int, JSON] | None:
    """LM Studio's answer to images sent to a text-only model, or None when fine."""
    if model_type is None or model_type == "vlm" or not image_urls(body):
        return None
    return 400, {
        "error": {
            "message": "Model does not support images. Please use a model that does.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }


# ---- streamed tool calls ----------------------------------------------------------------


def tool_call_deltas(calls: list[JSON], piece: int = 7) -> list[JSON]:
    """``delta`` objects streaming ``calls`` the way OpenAI-compatible servers do.

    Each call is ``{"name", "arguments" (str or object), "id"?}``. The first delta of
    a call carries its index, id, type and name with empty arguments; the arguments
    then follow in ``piece``-character fragments carrying only the index.
    """
    deltas: list[JSON] = []
    for index, call in enumerate(calls):
        args = call.get("arguments", "")
        text = args if isinstance(args, str) else json.dumps(args)
        head = {
            "index": index,
            "id": call.get("id") or f"call_{index}_fake",
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        for i in range(0, len(text), piece):
            frag = {"index": index, "function": {"arguments": text[i : i + piece]}}
            deltas.append({"tool_calls": [frag]})
    return deltas


def tool_call_message(calls: list[JSON]) -> list[JSON]:
    """The ``message.tool_calls`` of a whole (non-streamed) answer."""
    out = []
    for index, call in enumerate(calls):
        args = call.get("arguments", "")
        out.append(
            {
                "id": call.get("id") or f"call_{index}_fake",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
        )
    return out


# ---- parallel slots ---------------------------------------------------------------------


def add_parallel(v1_models: list[JSON], slots: int | None) -> None:
    """Say ``slots`` in each loaded instance's config, as ``lms load --parallel N`` sets it."""
    if not slots:
        return
    for entry in v1_models:
        for instance in entry.get("loaded_instances") or []:
            instance.setdefault("config", {})["parallel"] = slots


def llamacpp_props(slots: int | None) -> JSON:
    """llama.cpp's ``/props`` answer (trimmed to what clients read)."""
    return {
        "default_generation_settings": {"n_ctx": 4096},
        "total_slots": slots or 1,
        "build_info": "b0-fake",
    }
