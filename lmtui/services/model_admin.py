"""Loading and unloading models with options, shared by the CLI and the TUI.

Pure helpers check load options against a model's limits, describe a load config in
words, and pick instances by id; :class:`RememberedLoadOptions` keeps the options last
used per model; :func:`load_with_options` / :func:`unload_instances` make the calls.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from lmtui.backend.errors import ConfigError
from lmtui.backend.types import LoadConfig, LoadResult, Model, ModelInstance
from lmtui.services.clients import Client
from lmtui.store.paths import ensure_private_dir, private_file_opener, state_dir

MIN_CONTEXT = 256
MAX_EVAL_BATCH = 65_536


def human_size(size_bytes: int) -> str:
    """A byte count the way model files are usually quoted (decimal units)."""
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def check_load_options(options: LoadConfig, model: Model | None = None) -> LoadConfig:
    """``options`` if they fit ``model``'s limits; :class:`ConfigError` saying which does not.

    Args:
        options: what the user asked for (unset fields are left to the server).
        model: the model as listed, for its maximum context; None skips that check.

    Returns:
        The same options, unchanged.
    """
    ctx = options.context_length
    if ctx is not None:
        maximum = model.max_context_length if model else None
        if ctx < MIN_CONTEXT:
            raise ConfigError(
                f"A context length of {ctx} tokens is too small.",
                f"Use at least {MIN_CONTEXT} (typical: 4096 to 32768).",
            )
        if maximum and ctx > maximum:
            raise ConfigError(
                f"{model.id if model else 'The model'} takes at most {maximum:,} tokens of "
                f"context, not {ctx:,}.",
                f"Use --context-length {maximum} or less.",
            )
    batch = options.eval_batch_size
    if batch is not None and not 1 <= batch <= MAX_EVAL_BATCH:
        raise ConfigError(
            f"An evaluation batch size of {batch} is out of range.",
            f"Use 1 to {MAX_EVAL_BATCH} (LM Studio's default is 512).",
        )
    if options.num_experts is not None and options.num_experts < 1:
        raise ConfigError(
            f"{options.num_experts} experts cannot work.",
            "Use a positive number, at most the experts the MoE model has.",
        )
    if model is not None and model.is_embedding:
        engine_only = [
            f.name
            for f in fields(LoadConfig)
            if f.name != "context_length" and getattr(options, f.name) is not None
        ]
        if engine_only:
            raise ConfigError(
                f"{model.id} is an embedding model: only the context length applies, "
                f"not {', '.join(engine_only)}.",
                "Load it with --context-length alone.",
            )
    return options


def describe_config(config: LoadConfig) -> str:
    """A load config in words: ``context 16,384 · batch 512 · flash attention on · KV on GPU``."""
    parts: list[str] = []
    if config.context_length is not None:
        parts.append(f"context {config.context_length:,}")
    if config.eval_batch_size is not None:
        parts.append(f"batch {config.eval_batch_size}")
    if config.flash_attention is not None:
        parts.append(f"flash attention {'on' if config.flash_attention else 'off'}")
    if config.offload_kv_cache_to_gpu is not None:
        parts.append("KV cache on GPU" if config.offload_kv_cache_to_gpu else "KV cache in RAM")
    if config.num_experts is not None:
        parts.append(f"{config.num_experts} experts")
    return " · ".join(parts)


def memory_hint(model: Model) -> str | None:
    """What loading will take where the server says it: the weights' size, plus context."""
    if not model.size_bytes:
        return None
    return f"about {human_size(model.size_bytes)} for the weights, plus the context's KV cache"


def find_instance(models: Sequence[Model], ref: str) -> tuple[Model, ModelInstance]:
    """The loaded instance called ``ref`` (an instance id, or a model id with one instance).

    Raises:
        ConfigError: no such instance, or a model id with several instances.
    """
    for model in models:
        for inst in model.instances:
            if inst.id == ref:
                return model, inst
    for model in models:
        if model.id == ref and model.instances:
            if len(model.instances) > 1:
                ids = ", ".join(i.id for i in model.instances)
                raise ConfigError(
                    f"{ref} is loaded {len(model.instances)} times: say which instance.",
                    f"Instances: {ids} (or --all).",
                )
            return model, model.instances[0]
    loaded = [i.id for m in models for i in m.instances]
    raise ConfigError(
        f"No loaded instance called '{ref}'.",
        f"Loaded: {', '.join(loaded)}." if loaded else "Nothing is loaded on this server.",
    )


def loaded_instances(models: Sequence[Model]) -> list[tuple[Model, ModelInstance]]:
    """Every loaded instance with its model, in listing order."""
    return [(m, i) for m in models for i in m.instances if not i.loading]


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    """A finished load: what was asked, what the server applied, how long it took."""

    model: str
    instance_id: str
    requested: LoadConfig
    applied: LoadConfig | None
    load_time_s: float | None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form for ``--json`` output."""
        return {
            "model": self.model,
            "instance_id": self.instance_id,
            "requested": self.requested.to_json(),
            "applied": self.applied.to_json() if self.applied is not None else None,
            "load_time_seconds": self.load_time_s,
        }

    def headline(self) -> str:
        """``Loaded M as instance I in 1.25 s``."""
        took = f" in {self.load_time_s:.2f} s" if self.load_time_s is not None else ""
        name = self.model
        if self.instance_id != self.model:
            name += f" as instance {self.instance_id}"
        return f"Loaded {name}{took}"

    def summary(self) -> str:
        """One line: the headline and the applied (else the requested) config."""
        config = self.applied if self.applied is not None else self.requested
        described = describe_config(config)
        return self.headline() + (f": {described}" if described else "")


async def load_with_options(client: Client, model_id: str, options: LoadConfig) -> LoadOutcome:
    """Load ``model_id`` with ``options`` and report the config the server applied."""
    result: LoadResult = await client.load_model(model_id, options)
    return LoadOutcome(
        model=model_id,
        instance_id=result.instance_id,
        requested=options,
        applied=result.config,
        load_time_s=result.load_time_s,
    )


async def unload_instances(client: Client, instance_ids: Sequence[str]) -> list[str]:
    """Unload each instance in turn; the ids unloaded (all, or an error is raised)."""
    done: list[str] = []
    for instance_id in instance_ids:
        await client.unload_model(instance_id)
        done.append(instance_id)
    return done


class RememberedLoadOptions:
    """The load options last used per model, in a small 0600 JSON file.

    A file that cannot be read counts as empty (remembering is a convenience, never a
    reason to fail a load).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "load-options.json"

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, model_id: str) -> LoadConfig:
        """The options last used for ``model_id`` (empty when none)."""
        return LoadConfig.from_json(self._read().get(model_id))

    def put(self, model_id: str, options: LoadConfig) -> None:
        """Remember ``options`` for ``model_id``; a write that fails is ignored."""
        data = self._read()
        data[model_id] = options.to_json()
        try:
            ensure_private_dir(self.path.parent)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8", opener=private_file_opener) as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            return
