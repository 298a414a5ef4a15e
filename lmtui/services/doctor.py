"""Health findings with remedies, shared by ``lmtui doctor`` and the TUI's panel.

Each finding follows a row of the seed guide's troubleshooting table (connection
refused, model not found, slow responses, out of memory, truncated output) or a
failure shape from LMSTUDIO_API.md, and always carries the remedy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lmtui.backend.client import Exchange, LMStudioClient
from lmtui.backend.errors import START_SERVER, LmtuiError, NoModelLoaded
from lmtui.backend.types import ApiLevel, Health, Model, ModelType, ServerKind

Severity = Literal["ok", "info", "warn", "error"]

SLOW_TOKENS_PER_SECOND = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the doctor found."""

    id: str
    severity: Severity
    title: str
    detail: str = ""
    remedy: str = ""

    @property
    def ok(self) -> bool:
        """True for findings that need no action."""
        return self.severity in ("ok", "info")


@dataclass(slots=True)
class Diagnosis:
    """Everything one doctor run found."""

    base_url: str
    health: Health | None = None
    models: list[Model] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when no finding is a warning or an error."""
        return all(f.ok for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """A machine-readable form for ``--json``."""
        caps = self.health.capabilities if self.health else None
        return {
            "ok": self.healthy,
            "base_url": self.base_url,
            "reachable": bool(self.health and self.health.reachable),
            "latency_ms": self.health.latency_ms if self.health else None,
            "server_kind": caps.kind.value if caps else None,
            "api_levels": [lv.value for lv in caps.levels] if caps else [],
            "models": [
                {
                    "id": m.id,
                    "type": m.type.value,
                    "loaded": m.loaded,
                    "loaded_context_length": m.loaded_context_length,
                }
                for m in self.models
            ],
            "findings": [asdict(f) for f in self.findings],
        }


async def diagnose(client: LMStudioClient, *, model: str | None = None) -> Diagnosis:
    """Check reachability, API levels, models and loaded state."""
    diag = Diagnosis(client.base_url)
    health = await client.health()
    diag.health = health
    if not health.reachable:
        diag.findings.append(
            Finding(
                "unreachable",
                "error",
                f"Cannot reach the server at {client.base_url}",
                health.error or "",
                health.remedy or START_SERVER,
            )
        )
        return diag
    caps = health.capabilities
    assert caps is not None
    latency = f"{health.latency_ms:.0f} ms" if health.latency_ms is not None else "?"
    levels = ", ".join("/" + lv.value for lv in caps.levels)
    diag.findings.append(
        Finding("reachable", "ok", f"Server answers ({_kind_name(caps.kind)}, {latency})", levels)
    )
    if caps.kind is ServerKind.LMSTUDIO and not caps.has(ApiLevel.NATIVE_V1):
        diag.findings.append(
            Finding(
                "no_native_v1",
                "info",
                "LM Studio's /api/v1 is not available",
                "Loading and unloading from lmtui need LM Studio 0.4 or newer.",
                "Update LM Studio to load models from lmtui; `lms load` works meanwhile.",
            )
        )
    try:
        diag.models = await client.list_models(refresh=False)
    except LmtuiError as exc:
        diag.findings.append(Finding(exc.kind, "error", exc.message, "", exc.remedy))
        return diag
    diag.findings.extend(model_findings(diag.models, model))
    return diag


def model_findings(models: list[Model], wanted: str | None) -> list[Finding]:
    """Findings about the model list: none, none loaded, the wanted one missing."""
    out: list[Finding] = []
    llms = [m for m in models if m.type is not ModelType.EMBEDDINGS]
    if not models:
        out.append(
            Finding(
                "no_models",
                "error",
                "The server lists no models",
                "",
                "Download a model in LM Studio (or `lms get <model>`), then load it.",
            )
        )
        return out
    loaded = [m for m in llms if m.loaded]
    known = any(m.loaded is not None for m in llms)
    if known and not loaded:
        out.append(
            Finding(
                "no_model_loaded",
                "error",
                "No chat model is loaded",
                f"{len(llms)} model(s) downloaded, none loaded.",
                NoModelLoaded.default_remedy,
            )
        )
    elif loaded:
        names = ", ".join(
            m.id + (f" (context {m.loaded_context_length})" if m.loaded_context_length else "")
            for m in loaded
        )
        out.append(Finding("models_loaded", "ok", f"{len(loaded)} model(s) loaded", names))
    else:
        out.append(
            Finding(
                "models_listed",
                "info",
                f"{len(llms)} model(s) listed",
                "This server does not say which models are loaded.",
            )
        )
    if wanted and not any(m.id == wanted for m in models):
        ids = ", ".join(m.id for m in models[:8])
        out.append(
            Finding(
                "model_not_found",
                "error",
                f"The model '{wanted}' is not on this server",
                f"Models here: {ids}",
                "Pick one of the listed ids with --model (see `lmtui models`).",
            )
        )
    if len(loaded) > 2:
        out.append(
            Finding(
                "many_loaded",
                "warn",
                f"{len(loaded)} models are loaded at once",
                "Each loaded model holds memory; out-of-memory errors and slow replies follow.",
                "Unload unused models (`lms unload <model>` or U in the sidebar).",
            )
        )
    return out


def exchange_findings(exchanges: Iterable[Exchange]) -> list[Finding]:
    """Findings from recent requests: slow, truncated, overflowing, failing."""
    out: list[Finding] = []
    seen: set[str] = set()
    for ex in reversed(list(exchanges)):
        if ex.finish_reason == "length" and "length" not in seen:
            seen.add("length")
            out.append(
                Finding(
                    "truncated",
                    "warn",
                    "A reply was cut at max_tokens",
                    f"model {ex.model_used or ex.model_requested}",
                    "Continue the reply, or raise max_tokens.",
                )
            )
        tps = ex.tokens_per_second
        if tps is not None and tps < SLOW_TOKENS_PER_SECOND and "slow" not in seen:
            seen.add("slow")
            out.append(
                Finding(
                    "slow",
                    "warn",
                    f"Slow replies: {tps:.1f} tokens/s",
                    f"model {ex.model_used or ex.model_requested}",
                    "Try a smaller model or a lower max_tokens; unload models you are not using.",
                )
            )
        if ex.error and "error" not in seen:
            seen.add("error")
            out.append(Finding("request_failed", "warn", "A recent request failed", ex.error))
    return out


def _kind_name(kind: ServerKind) -> str:
    return {
        ServerKind.LMSTUDIO: "LM Studio",
        ServerKind.LLAMACPP: "llama.cpp",
        ServerKind.OTHER: "OpenAI-compatible",
    }[kind]
