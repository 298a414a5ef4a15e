"""Health findings with remedies, shared by ``lmtui doctor`` and the TUI's panel.

Each finding follows a row of the seed guide's troubleshooting table (connection
refused, model not found, slow responses, out of memory, truncated output) or a
failure shape from LMSTUDIO_API.md, and always carries the remedy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lmtui.backend.client import EMPTY_REPLY, EMPTY_REPLY_REMEDY, Exchange, LMStudioClient
from lmtui.backend.errors import (
    START_SERVER,
    AuthRequired,
    ContextOverflow,
    LmtuiError,
    MalformedResponse,
    ModelLoading,
    ModelNotFound,
    NoModelLoaded,
    NotSupported,
    OutOfMemory,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
    classify_error,
    extract_error,
)
from lmtui.backend.types import ApiLevel, Capabilities, Health, Model, ModelType, ServerKind
from lmtui.services.jit import TURN_ON_JIT, JitView, load_remedy, read_jit

Severity = Literal["ok", "info", "warn", "error"]

SLOW_TOKENS_PER_SECOND = 5.0
SLOW_FIRST_TOKEN_S = 20.0  # median wait for the first token that counts as slow
RECENT_SPEED = 8  # replies the speed findings look back over


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
    jit: str = "unknown"  # JIT loading as the listings show it: on, off or unknown

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
            "jit": self.jit,
            "models": [
                {
                    "id": m.id,
                    "type": m.type.value,
                    "loaded": m.loaded,
                    "loaded_context_length": m.loaded_context_length,
                    "state": m.state,
                    "instances": [{"id": i.id, "config": i.config.to_json()} for i in m.instances],
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
        diag.findings.append(_health_finding(health))
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
        jit = await read_jit(client)
    except LmtuiError as exc:
        diag.findings.append(error_finding(exc))
        return diag
    diag.jit = jit.setting
    diag.findings.extend(model_findings(diag.models, model, caps=caps, jit=jit))
    return diag


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def model_findings(
    models: list[Model],
    wanted: str | None,
    *,
    caps: Capabilities | None = None,
    jit: JitView | None = None,
) -> list[Finding]:
    """Findings about the model list: none, none loaded (JIT aside), the wanted one missing.

    Args:
        models: the richest listing the server gave.
        wanted: the model the user configured, if any.
        caps: what the server offers, so remedies name only actions it supports.
        jit: JIT loading as the listings show it; "downloaded, not loaded" is then
            information when JIT will load a model on first use, an error when it is off.
    """
    out: list[Finding] = []
    setting = jit.setting if jit is not None else "unknown"
    lmstudio = caps is not None and caps.kind is ServerKind.LMSTUDIO
    llms = [m for m in models if m.type is not ModelType.EMBEDDINGS]
    if not llms:
        remedy = "Download a model in LM Studio (or `lms get <model>`), then load it."
        detail = "Only embedding models are listed." if models else ""
        if lmstudio and setting != "on" and not (caps and caps.has(ApiLevel.NATIVE_V1)):
            # Without /api/v1 an empty listing may only mean JIT is off and nothing is loaded.
            detail = (
                "Either nothing is downloaded, or JIT loading is off: then LM Studio lists "
                "only loaded models."
            )
            remedy = f"{remedy} If models are downloaded: {load_remedy(caps)}; or {TURN_ON_JIT}."
        out.append(Finding("no_models", "error", "The server lists no chat models", detail, remedy))
        return out
    loaded = [m for m in llms if m.loaded]
    known = any(m.loaded is not None for m in llms)
    if known and not loaded and setting == "on":
        names = ", ".join(m.id for m in llms[:3]) + (" …" if len(llms) > 3 else "")
        out.append(
            Finding(
                "jit_will_load",
                "info",
                "No model loaded: LM Studio will load one on first use (JIT)",
                f"{len(llms)} model(s) downloaded, not loaded ({names}); LM Studio will load "
                "the one a request names on first use (the first reply waits for it).",
                "To have it ready: " + load_remedy(caps) + ".",
            )
        )
    elif known and not loaded:
        detail = f"{len(llms)} model(s) downloaded, none loaded."
        remedy = NoModelLoaded.default_remedy
        if setting == "off":
            detail += " JIT loading is off, so requests fail until one is loaded."
            remedy = f"{_sentence(load_remedy(caps))}; or {TURN_ON_JIT}."
        elif caps is not None:
            remedy = f"{_sentence(load_remedy(caps))}."
        out.append(Finding("no_model_loaded", "error", "No chat model is loaded", detail, remedy))
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
    if loaded and setting == "off":
        out.append(
            Finding(
                "jit_off",
                "info",
                "JIT loading is off",
                "Only loaded models answer; naming another one fails until it is loaded.",
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
                "Unload unused models (`lmtui models unload <instance>`, U in the sidebar, "
                "or `lms unload <model>`).",
            )
        )
    return out


def exchange_findings(
    exchanges: Iterable[Exchange], *, models: Sequence[Model] = ()
) -> list[Finding]:
    """Findings from recent requests: slow, truncated, and each kind of failure once.

    The newest exchange of each kind speaks for it. ``models`` (from a doctor run)
    fills in what an error leaves out: the models a missing one could be replaced
    by, the context a model is loaded with.
    """
    out: list[Finding] = []
    seen: set[str] = set()

    def add(finding: Finding) -> None:
        if finding.id not in seen:
            seen.add(finding.id)
            out.append(finding)

    for ex in reversed(list(exchanges)):
        used = ex.model_used or ex.model_requested
        if ex.finish_reason == "length":
            add(
                Finding(
                    "truncated",
                    "warn",
                    "A reply was cut at max_tokens",
                    f"model {used}",
                    "Continue the reply, or raise max_tokens.",
                )
            )
        error = exchange_error(ex)
        if error is not None:
            add(error_finding(error, models=models, model=ex.model_requested))
    for finding in speed_findings(exchanges):
        add(finding)
    return out


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def speed_findings(exchanges: Iterable[Exchange]) -> list[Finding]:
    """Slow generation and slow prompt processing, each judged on the recent median.

    Generation speed (tokens after the first, per second) and the wait for the first
    token (the prompt being read) are judged apart, over the last ``RECENT_SPEED``
    replies that report them, so one long prompt neither hides nor fakes a slow model.
    """
    recent = [ex for ex in exchanges if ex.tokens_per_second is not None or ex.ttft_s]
    recent = recent[-RECENT_SPEED:]
    out: list[Finding] = []
    rates = [ex.tokens_per_second for ex in recent if ex.tokens_per_second is not None]
    if rates and (rate := _median(rates)) < SLOW_TOKENS_PER_SECOND:
        out.append(
            Finding(
                "slow",
                "warn",
                f"Slow replies: {rate:.1f} tokens/s (median of the last {len(rates)})",
                "generation speed, not counting the wait for the first token",
                "Try a smaller model or a lower max_tokens; unload models you are not using.",
            )
        )
    waits = [ex.ttft_s for ex in recent if ex.ttft_s is not None]
    if waits and (wait := _median(waits)) > SLOW_FIRST_TOKEN_S:
        out.append(
            Finding(
                "slow_prompt",
                "warn",
                f"Slow prompt processing: {wait:.1f} s to the first token "
                f"(median of the last {len(waits)})",
                "the server reads the whole conversation before it answers",
                "Start a new chat or shorten the prompt; a smaller model or a GPU reads faster.",
            )
        )
    return out


def shown_version(version: str | None) -> str | None:
    """``version`` as worth showing, or None for a placeholder (llama.cpp's ``b0-unknown``)."""
    if not version or not version.strip():
        return None
    text = version.strip()
    if "unknown" in text.lower() or text.lower() in ("b0", "0", "none", "null"):
        return None
    return text


def exchange_error(ex: Exchange) -> LmtuiError | None:
    """The typed error behind a failed exchange, rebuilt from what was recorded.

    The error body the server sent is classified again (it carries the details: prompt
    size, loaded context); otherwise the error kind the client recorded picks the class.
    """
    if ex.error is None:
        return None
    status = ex.status if ex.status is not None and ex.status >= 400 else None
    if status is not None or extract_error(ex.response) is not None:
        return classify_error(status, ex.response, model=ex.model_requested)
    kind = ex.extra.get("error_kind")
    if ex.error == EMPTY_REPLY:
        return StreamInterrupted(EMPTY_REPLY, EMPTY_REPLY_REMEDY)
    cls = _ERROR_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        cls = ServerUnreachable if ex.error.startswith("Cannot reach the server") else ServerError
    return cls(ex.error)


_ERROR_CLASSES: dict[str, type[LmtuiError]] = {
    cls.kind: cls
    for cls in (
        ServerUnreachable,
        AuthRequired,
        ModelNotFound,
        NoModelLoaded,
        ContextOverflow,
        StreamInterrupted,
        MalformedResponse,
        ServerError,
        ModelLoading,
        NotSupported,
        OutOfMemory,
    )
}
_LMSTUDIO_OVERFLOW = re.compile(
    r"keep the first (\d+) tokens.*context length of only (\d+) tokens", re.I | re.S
)


def error_finding(
    error: LmtuiError, *, models: Sequence[Model] = (), model: str | None = None
) -> Finding:
    """The finding for one typed error, with its remedy (and the models it may concern)."""
    detail = error.server_message or ""
    if isinstance(error, ServerUnreachable):
        return Finding("unreachable", "error", error.message, "", error.remedy or START_SERVER)
    if isinstance(error, AuthRequired):
        return Finding(
            "auth", "error", "The server needs an API token", error.message, error.remedy
        )
    if isinstance(error, NoModelLoaded):
        return Finding("no_model_loaded", "error", "No model is loaded", detail, error.remedy)
    if isinstance(error, ModelNotFound):
        ids = ", ".join(m.id for m in models if not m.is_embedding)
        return Finding(
            "model_not_found",
            "error",
            error.message,
            f"Models here: {ids}" if ids else detail,
            "Pick one of the listed ids (see `lmtui models`), or load it first.",
        )
    if isinstance(error, ContextOverflow):
        return _overflow_finding(error, models, model)
    if isinstance(error, OutOfMemory):
        return Finding("out_of_memory", "error", error.message, detail, error.remedy)
    if isinstance(error, StreamInterrupted):
        if error.message == EMPTY_REPLY:
            return Finding("empty_reply", "warn", error.message, "", error.remedy)
        return Finding("interrupted", "warn", "A reply was cut off mid-stream", "", error.remedy)
    if isinstance(error, ModelLoading):
        return Finding("model_loading", "info", error.message, "", error.remedy)
    if isinstance(error, NotSupported):
        return Finding("not_supported", "warn", error.message, detail, error.remedy)
    if isinstance(error, MalformedResponse):
        return Finding("malformed", "error", error.message, "", error.remedy)
    return Finding("request_failed", "warn", "A recent request failed", error.message, error.remedy)


def _overflow_finding(
    error: ContextOverflow, models: Sequence[Model], model: str | None
) -> Finding:
    prompt, context = error.prompt_tokens, error.context_length
    if (prompt is None or context is None) and error.server_message:
        found = _LMSTUDIO_OVERFLOW.search(error.server_message)
        if found:
            prompt, context = int(found.group(1)), int(found.group(2))
    if context is None and model:
        context = next(
            (m.loaded_context_length for m in models if m.id == model and m.loaded), None
        )
    name = model or "<model>"
    parts = []
    if prompt is not None:
        parts.append(f"prompt {prompt} tokens")
    if context is not None:
        parts.append(f"loaded context {context} tokens")
    if model:
        parts.append(f"model {model}")
    larger = "N"
    if prompt is not None:
        larger = str(_next_power_of_two(prompt + 512))
    remedy = (
        "Shorten the conversation or the prompt, or reload the model with a larger context: "
        f"`lms load {name} --context-length {larger}`."
    )
    return Finding(
        "context_overflow",
        "error",
        "A prompt did not fit the model's context",
        ", ".join(parts),
        remedy,
    )


def _next_power_of_two(n: int) -> int:
    size = 1024
    while size < n:
        size *= 2
    return size


def runtime_info(exchanges: Iterable[Exchange]) -> str | None:
    """LM Studio's runtime name and version, from the newest answer that carried it.

    Only non-streamed ``/api/v0`` answers include ``runtime``; None when none did.
    """
    for ex in reversed(list(exchanges)):
        resp = ex.response
        runtime = resp.get("runtime") if isinstance(resp, dict) else None
        if isinstance(runtime, dict) and runtime.get("name"):
            version = runtime.get("version")
            return f"{runtime['name']} {version}" if version else str(runtime["name"])
    return None


def _health_finding(health: Health) -> Finding:
    """The finding for a server that could not be probed."""
    remedy = health.remedy or START_SERVER
    if health.error_kind == AuthRequired.kind:
        return Finding("auth", "error", "The server needs an API token", health.error or "", remedy)
    if health.error_kind == MalformedResponse.kind:
        return Finding("malformed", "error", health.error or "Not an API server", "", remedy)
    title = f"Cannot reach the server at {health.base_url}"
    detail = health.error or ""
    if detail.startswith(title):
        detail = detail[len(title) :].lstrip(": ")  # just the reason, e.g. "refused the ..."
    return Finding("unreachable", "error", title, detail, remedy)


def _kind_name(kind: ServerKind) -> str:
    return {
        ServerKind.LMSTUDIO: "LM Studio",
        ServerKind.LLAMACPP: "llama.cpp",
        ServerKind.OTHER: "OpenAI-compatible",
    }[kind]
