"""Typed errors, each with a one-line message and a remedy.

Remedies follow the troubleshooting table of the LM Studio guide lmtui was built
from. ``classify_error`` turns any error shape a server sends (nested or flat
JSON, plain text, an error inside a stream, a 200 with an error body) into one
of these classes.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

START_SERVER = (
    "Start LM Studio's server (Developer tab → Start Server, or `lms server start`), "
    "or run `lmtui local` for the embedded llama.cpp server; check --base-url."
)


class LmtuiError(Exception):
    """Base of every error lmtui explains to the user."""

    exit_code: ClassVar[int] = 10
    kind: ClassVar[str] = "error"
    default_remedy: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        remedy: str | None = None,
        *,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy if remedy is not None else self.default_remedy
        self.status = status
        self.server_message = server_message

    def __str__(self) -> str:
        return self.message

    def redact(self, secret: str | None) -> None:
        """Blank out ``secret`` (an API token a server echoed back) in every text field."""
        if not secret:
            return
        self.message = redact_text(self.message, secret)
        self.remedy = redact_text(self.remedy, secret)
        if self.server_message is not None:
            self.server_message = redact_text(self.server_message, secret)
        self.args = (self.message,)

    def to_json(self) -> dict[str, Any]:
        """A machine-readable form for ``--json`` output."""
        return {
            "error": self.kind,
            "message": self.message,
            "remedy": self.remedy,
            "status": self.status,
            "server_message": self.server_message,
        }


REDACTED = "«redacted»"


def redact_text(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by a marker."""
    if not secret or secret not in text:
        return text
    return text.replace(secret, REDACTED)


def redact_value(value: object, secret: str | None) -> object:
    """A copy of decoded JSON (or text) with ``secret`` blanked out of every string."""
    if not secret:
        return value
    if isinstance(value, str):
        return redact_text(value, secret)
    if isinstance(value, dict):
        return {redact_text(str(k), secret): redact_value(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, secret) for v in value]
    return value


class ConfigError(LmtuiError):
    """A config, preset or theme file could not be used."""

    exit_code = 2
    kind = "config"
    default_remedy = "Fix the file at the place named; lmtui never rewrites it."


class ServerUnreachable(LmtuiError):
    """Connection refused, DNS failure or connect timeout."""

    exit_code = 3
    kind = "unreachable"
    default_remedy = START_SERVER


class AuthRequired(LmtuiError):
    """The server wants an API token (or rejected the one sent)."""

    exit_code = 4
    kind = "auth"
    default_remedy = (
        "Set LMTUI_API_TOKEN (or LM_API_TOKEN) to a token from LM Studio's server settings, "
        "or turn authentication off there."
    )


class ModelNotFound(LmtuiError):
    """The requested model does not exist on the server."""

    exit_code = 5
    kind = "model_not_found"
    default_remedy = (
        "Check the model id with `lmtui models` (or `lms ls`) and pass it with --model."
    )


class NoModelLoaded(LmtuiError):
    """The server has no model loaded and would not load one."""

    exit_code = 6
    kind = "no_model_loaded"
    default_remedy = (
        "Load a model: `lms load <model>` or LM Studio's Developer tab (LM Studio 0.4+ also: "
        "`lmtui models load <model>` or L in lmtui's sidebar); or turn on Just-in-Time model "
        "loading in LM Studio's server settings."
    )


class ContextOverflow(LmtuiError):
    """The prompt does not fit the model's loaded context."""

    exit_code = 7
    kind = "context_overflow"
    default_remedy = (
        "Shorten the conversation or the prompt, or reload the model with a larger context "
        "(`lms load <model> --context-length N`)."
    )

    def __init__(
        self,
        message: str,
        remedy: str | None = None,
        *,
        status: int | None = None,
        server_message: str | None = None,
        prompt_tokens: int | None = None,
        context_length: int | None = None,
    ) -> None:
        super().__init__(message, remedy, status=status, server_message=server_message)
        self.prompt_tokens = prompt_tokens
        self.context_length = context_length


class StreamInterrupted(LmtuiError):
    """The reply stopped arriving before the server said it was finished."""

    exit_code = 8
    kind = "interrupted"
    default_remedy = (
        "The partial reply was kept. Check the server is still running (it may have crashed or "
        "run out of memory: unload unused models), then retry or continue."
    )


class MalformedResponse(LmtuiError):
    """The server answered with something that is not the API's shape."""

    exit_code = 9
    kind = "malformed"
    default_remedy = (
        "Check --base-url points at an OpenAI-compatible server (LM Studio, llama.cpp)."
    )


class ServerError(LmtuiError):
    """Any other error the server reported."""

    exit_code = 10
    kind = "server_error"
    default_remedy = "Look at the server's log (LM Studio: Developer tab) for details, then retry."


class ModelLoading(ServerError):
    """The server is still loading the model (llama.cpp 503)."""

    kind = "model_loading"
    default_remedy = "Wait a few seconds for the model to finish loading, then retry."


class NotSupported(ServerError):
    """The server does not offer this feature (embeddings off, no native API)."""

    kind = "not_supported"
    default_remedy = (
        "Use a server and model that support it (for embeddings, load an embedding model; "
        "llama.cpp needs --embeddings)."
    )


class OutOfMemory(ServerError):
    """The server ran out of memory loading or running a model."""

    kind = "out_of_memory"
    default_remedy = (
        "Unload unused models in LM Studio (`lms unload --all`) or pick a smaller model."
    )


class AnswerOnlyInReasoning(LmtuiError):
    """The reply's answer is empty but its reasoning is not (seen with LM Studio 0.4.6)."""

    exit_code = 14
    kind = "answer_only_in_reasoning"
    default_remedy = "Raise max tokens (--max-tokens), or turn reasoning off (--think off)."


# ---- parsing ------------------------------------------------------------------

_OVERFLOW_PATTERNS = (
    re.compile(r"exceeds the available context size", re.I),
    re.compile(r"context the overflows", re.I),
    re.compile(r"context (?:length|window|size) (?:exceeded|overflow)", re.I),
    re.compile(r"greater than the context length", re.I),
    re.compile(r"exceed_context_size", re.I),
    re.compile(r"maximum context length", re.I),
)
_NOT_FOUND_PATTERNS = (
    re.compile(r"invalid model identifier", re.I),
    re.compile(r"model .* not found", re.I),
    re.compile(r"model_not_found", re.I),
    re.compile(r"no such model", re.I),
)
_NO_MODEL_PATTERNS = (re.compile(r"no models? (?:is |are )?loaded", re.I),)
_OOM_PATTERNS = (re.compile(r"out of memory|insufficient memory|failed to allocate", re.I),)


def extract_error(body: object) -> tuple[str, dict[str, Any]] | None:
    """Find an error message in a decoded body, nested or flat.

    Returns the message and the error object (empty for flat forms), or None when
    the body carries no error.
    """
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or err.get("detail") or json.dumps(err)
        return str(message), err
    if isinstance(err, str) and err:
        return err, {}
    if body.get("object") == "error" and body.get("message"):
        return str(body["message"]), body
    detail = body.get("detail")
    if isinstance(detail, str) and detail and "choices" not in body and "data" not in body:
        return detail, {}
    return None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def _readable(text: str) -> str:
    """A text body as one readable line: an HTML page (a proxy's error) by its title."""
    text = text.strip()
    if text.startswith("<"):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", text)
    return " ".join(text.split())


def parse_body(raw: bytes | str) -> object:
    """Decode a response body as JSON, or return the text when it is not JSON."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # absurdly deep nesting is "not JSON" too
        return text


def classify_error(
    status: int | None,
    body: object,
    *,
    model: str | None = None,
    available: list[str] | None = None,
) -> LmtuiError:
    """Turn an HTTP status and a (decoded or raw) body into a typed error.

    ``body`` may be bytes, text or already-decoded JSON; ``status`` is None for an
    error found inside a stream.
    """
    if isinstance(body, bytes | str):
        body = parse_body(body)
    found = extract_error(body)
    if found is not None:
        message, obj = found
    elif isinstance(body, str) and body.strip():
        message, obj = _readable(body)[:500], {}
    else:
        message, obj = "", {}
    code = str(obj.get("code") or "")
    etype = str(obj.get("type") or "")
    hay = f"{message} {code} {etype}"
    where = f" (HTTP {status})" if status else ""

    if status in (401, 403) or etype in ("authentication_error", "permission_error"):
        return AuthRequired(
            f"The server refused the request: authentication required{where}.",
            status=status,
            server_message=message or None,
        )
    if any(p.search(hay) for p in _NO_MODEL_PATTERNS):
        return NoModelLoaded(
            "No model is loaded on the server.", status=status, server_message=message
        )
    if etype == "exceed_context_size_error" or any(p.search(hay) for p in _OVERFLOW_PATTERNS):
        prompt_tokens = obj.get("n_prompt_tokens")
        n_ctx = obj.get("n_ctx")
        size = ""
        if isinstance(prompt_tokens, int) and isinstance(n_ctx, int):
            size = f": the prompt is {prompt_tokens} tokens, the loaded context {n_ctx}"
        return ContextOverflow(
            f"The prompt does not fit the model's context{size}.",
            status=status,
            server_message=message,
            prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
            context_length=n_ctx if isinstance(n_ctx, int) else None,
        )
    if code == "model_not_found" or any(p.search(hay) for p in _NOT_FOUND_PATTERNS):
        name = f" '{model}'" if model else ""
        remedy = None
        if available:
            shown = ", ".join(available[:8]) + (" …" if len(available) > 8 else "")
            remedy = f"Models on this server: {shown}. Pick one with --model."
        return ModelNotFound(
            f"The server has no model{name}.", remedy, status=status, server_message=message
        )
    if any(p.search(hay) for p in _OOM_PATTERNS):
        return OutOfMemory(
            f"The server ran out of memory{where}.", status=status, server_message=message
        )
    if status == 503 and ("loading" in hay.lower() or etype == "unavailable_error"):
        return ModelLoading(
            f"The server is still loading the model{where}.", status=status, server_message=message
        )
    if status == 501 or etype == "not_supported_error":
        return NotSupported(
            f"The server does not support this request{where}: {message or 'not supported'}.",
            status=status,
            server_message=message,
        )
    if status == 404 and not message:
        return NotSupported(
            f"The server has no such endpoint{where}.", status=status, server_message=None
        )
    summary = message.splitlines()[0][:200] if message else "no details given"
    return ServerError(
        f"The server reported an error{where}: {summary}",
        status=status,
        server_message=message or None,
    )
