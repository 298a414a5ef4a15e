"""Parsing model listings from each API level into :class:`Model`."""

from __future__ import annotations

from typing import Any

from lmtui.backend.types import (
    ApiLevel,
    LoadConfig,
    Model,
    ModelInstance,
    ModelType,
    ServerKind,
    opt_int,
)


def parse_models(
    level: ApiLevel, raw: object, *, kind: ServerKind = ServerKind.OTHER
) -> list[Model]:
    """Parse a ``/api/v1/models``, ``/api/v0/models`` or ``/v1/models`` answer."""
    if not isinstance(raw, dict):
        return []
    key = "models" if level is ApiLevel.NATIVE_V1 else "data"
    entries = raw.get(key)
    if not isinstance(entries, list):
        return []
    parse = {
        ApiLevel.NATIVE_V1: _from_v1,
        ApiLevel.NATIVE_V0: _from_v0,
        ApiLevel.OPENAI: _from_openai,
    }[level]
    models = [parse(e, kind) for e in entries if isinstance(e, dict)]
    return [m for m in models if m.id]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_int = opt_int


def _type(value: object) -> ModelType:
    text = str(value or "").lower()
    if text in ("embedding", "embeddings"):
        return ModelType.EMBEDDINGS
    if text == "vlm":
        return ModelType.VLM
    if text == "llm":
        return ModelType.LLM
    return ModelType.UNKNOWN


def _from_v1(e: dict[str, Any], kind: ServerKind) -> Model:
    caps_raw = e.get("capabilities")
    caps: list[str] = []
    options: tuple[str, ...] = ()
    default: str | None = None
    if isinstance(caps_raw, dict):
        reasoning = caps_raw.get("reasoning")
        if isinstance(reasoning, dict):
            allowed = reasoning.get("allowed_options")
            if isinstance(allowed, list):
                options = tuple(str(o) for o in allowed if isinstance(o, str))
            default = _str(reasoning.get("default"))
        if caps_raw.get("vision"):
            caps.append("vision")
        if caps_raw.get("trained_for_tool_use"):
            caps.append("tool_use")
        if caps_raw.get("reasoning"):
            caps.append("reasoning")
    elif isinstance(caps_raw, list):
        caps = [str(c) for c in caps_raw]
    mtype = _type(e.get("type"))
    if mtype is ModelType.LLM and "vision" in caps:
        mtype = ModelType.VLM
    quant = e.get("quantization")
    quant_name = _str(quant.get("name")) if isinstance(quant, dict) else _str(quant)
    instances = _instances(e.get("loaded_instances"))
    # The first instance's context stands for the model (each instance keeps its own).
    loaded_ctx = next((i.config.context_length for i in instances if i.config.context_length), None)
    return Model(
        id=_str(e.get("key")) or _str(e.get("id")) or "",
        display_name=_str(e.get("display_name")) or "",
        type=mtype,
        loaded=bool(instances),
        quantization=quant_name,
        architecture=_str(e.get("architecture")) or _str(e.get("arch")),
        max_context_length=_int(e.get("max_context_length")),
        loaded_context_length=loaded_ctx,
        size_bytes=_int(e.get("size_bytes")),
        capabilities=tuple(caps),
        publisher=_str(e.get("publisher")),
        params=_str(e.get("params_string")),
        instance_ids=tuple(i.id for i in instances),
        instances=instances,
        loading=_str(e.get("state")) == "loading",
        reasoning_options=options,
        reasoning_default=default,
    )


def _instances(raw: object) -> tuple[ModelInstance, ...]:
    """``loaded_instances`` of a ``/api/v1`` entry, each with its own config."""
    if not isinstance(raw, list):
        return ()
    out: list[ModelInstance] = []
    for inst in raw:
        if not isinstance(inst, dict) or not _str(inst.get("id")):
            continue
        state = _str(inst.get("status")) or _str(inst.get("state"))
        out.append(
            ModelInstance(
                id=str(inst["id"]),
                config=LoadConfig.from_json(inst.get("config")),
                loading=state == "loading",
            )
        )
    return tuple(out)


def _from_v0(e: dict[str, Any], kind: ServerKind) -> Model:
    caps_raw = e.get("capabilities")
    caps = tuple(str(c) for c in caps_raw) if isinstance(caps_raw, list) else ()
    state = str(e.get("state") or "")
    loaded = state == "loaded"
    mid = _str(e.get("id")) or ""
    ctx = _int(e.get("loaded_context_length"))
    # /api/v0 lists one entry per model; a loaded one is its own instance.
    instances = (ModelInstance(mid, LoadConfig(context_length=ctx)),) if loaded else ()
    return Model(
        id=mid,
        type=_type(e.get("type")),
        loaded=loaded,
        quantization=_str(e.get("quantization")),
        architecture=_str(e.get("arch")),
        max_context_length=_int(e.get("max_context_length")),
        loaded_context_length=ctx,
        capabilities=caps,
        publisher=_str(e.get("publisher")),
        instance_ids=(mid,) if loaded else (),
        instances=instances,
        loading=state == "loading",
    )


def _from_openai(e: dict[str, Any], kind: ServerKind) -> Model:
    mid = _str(e.get("id")) or ""
    meta = e.get("meta") if isinstance(e.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    lowered = mid.lower()
    mtype = ModelType.EMBEDDINGS if "embed" in lowered else ModelType.LLM
    display = ""
    if "/" in mid and mid.endswith(".gguf"):
        # llama.cpp names a model by its file path: show the file name.
        display = mid.rsplit("/", 1)[-1]
    return Model(
        id=mid,
        display_name=display,
        type=mtype,
        # llama.cpp serves exactly the models it lists; other servers do not say.
        loaded=True if kind is ServerKind.LLAMACPP else None,
        max_context_length=_int(meta.get("n_ctx_train")),
        size_bytes=_int(meta.get("size")),
        publisher=_str(e.get("owned_by")),
    )
