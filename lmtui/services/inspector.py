"""The request inspector: what was sent, what came back, and "copy as" snippets.

Snippets follow the integration patterns of the LM Studio guide (curl, Python,
TypeScript fetch). A token is never shown: snippets read it from the
environment, and any ``Authorization`` value is replaced by a placeholder.
"""

from __future__ import annotations

import json
import pprint
import shlex
from collections import deque
from collections.abc import Iterator
from typing import Any

from lmtui.backend.client import Exchange
from lmtui.backend.urls import display_url

REDACTED = "«redacted»"
TOKEN_ENV = "LMTUI_API_TOKEN"
_SECRET_KEYS = {"authorization", "api_key", "apikey", "token", "api_token", "access_token"}


class RequestLog:
    """The last requests made to a server, newest last. Pass ``log.record`` as ``on_exchange``."""

    def __init__(self, limit: int = 200) -> None:
        self._items: deque[Exchange] = deque(maxlen=limit)

    def record(self, exchange: Exchange) -> None:
        """Keep one exchange (the client's ``on_exchange`` hook)."""
        self._items.append(exchange)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def last(self, n: int = 20) -> list[Exchange]:
        """The newest ``n`` exchanges, newest first."""
        return list(self._items)[-n:][::-1]

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()


def redact(value: Any) -> Any:
    """A deep copy of a JSON value with anything secret-looking replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in _SECRET_KEYS else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def pretty(value: Any) -> str:
    """Indented JSON of a redacted value."""
    return json.dumps(redact(value), indent=2, ensure_ascii=False)


def token_env_name(token_source: str | None) -> str:
    """The variable a snippet reads the token from: where it really came from.

    ``env:LM_API_TOKEN`` gives ``LM_API_TOKEN``; a token from config.toml is in no
    variable, so snippets name ``LMTUI_API_TOKEN`` (and say to set it).
    """
    if token_source and token_source.startswith("env:"):
        return token_source.removeprefix("env:")
    return TOKEN_ENV


def _from_config_note(token_env: str, comment: str, token_source: str | None) -> str:
    if token_source == "config":
        return f"{comment} The token is api_token in config.toml: export {token_env} first.\n"
    return ""


def as_curl(
    base_url: str,
    path: str,
    body: dict[str, Any],
    *,
    with_token: bool,
    token_source: str | None = None,
) -> str:
    """A curl command that repeats the request (the token read from its real variable)."""
    token_env = token_env_name(token_source)
    lines = [f"curl {shlex.quote(display_url(base_url).rstrip('/') + path)}"]
    lines.append("  -H 'Content-Type: application/json'")
    if with_token:
        lines.append(f'  -H "Authorization: Bearer ${token_env}"')
    if body.get("stream"):
        lines.append("  -N")
    lines.append(f"  -d {shlex.quote(json.dumps(redact(body), ensure_ascii=False))}")
    note = _from_config_note(token_env, "#", token_source) if with_token else ""
    return note + " \\\n".join(lines)


def as_python(
    base_url: str,
    path: str,
    body: dict[str, Any],
    *,
    with_token: bool,
    token_source: str | None = None,
) -> str:
    """A Python (httpx) snippet that repeats the request; it parses and runs as written."""
    token_env = token_env_name(token_source)
    # A Python literal, not JSON: JSON's true/false/null are NameErrors in Python.
    payload = pprint.pformat(redact(body), indent=4, sort_dicts=False, width=88)
    headers = (
        f'{{"Authorization": f"Bearer {{os.environ[{token_env!r}]}}"}}' if with_token else "{}"
    )
    url = json.dumps(display_url(base_url).rstrip("/") + path)[1:-1]
    note = _from_config_note(token_env, "#", token_source) if with_token else ""
    if body.get("stream"):
        return note + (
            "import json\nimport os\n\nimport httpx\nfrom httpx_sse import connect_sse\n\n"
            f"body = {payload}\n\n"
            "with httpx.Client(timeout=300) as client:\n"
            f'    with connect_sse(client, "POST", "{url}", json=body, headers={headers}) as es:\n'
            "        for sse in es.iter_sse():\n"
            '            if sse.data == "[DONE]":\n'
            "                break\n"
            "            chunk = json.loads(sse.data)\n"
            '            for choice in chunk.get("choices", []):\n'
            '                print(choice["delta"].get("content") or "", end="", flush=True)\n'
        )
    return note + (
        "import os\n\nimport httpx\n\n"
        f"body = {payload}\n\n"
        f'resp = httpx.post("{url}", json=body, headers={headers}, timeout=300)\n'
        "resp.raise_for_status()\n"
        'print(resp.json()["choices"][0]["message"]["content"])\n'
    )


def as_typescript(
    base_url: str,
    path: str,
    body: dict[str, Any],
    *,
    with_token: bool,
    token_source: str | None = None,
) -> str:
    """A TypeScript (fetch) snippet that repeats the request."""
    token_env = token_env_name(token_source)
    payload = json.dumps(redact(body), indent=2, ensure_ascii=False)
    auth = f"\n    Authorization: `Bearer ${{process.env.{token_env}}}`," if with_token else ""
    url = display_url(base_url).rstrip("/") + path
    read = (
        "const reader = response.body!.getReader();\n"
        "const decoder = new TextDecoder();\n"
        "for (;;) {\n"
        "  const { done, value } = await reader.read();\n"
        "  if (done) break;\n"
        "  process.stdout.write(decoder.decode(value)); // raw SSE lines: data: {...}\n"
        "}\n"
        if body.get("stream")
        else "const data = await response.json();\nconsole.log(data.choices[0].message.content);\n"
    )
    return (
        f"const response = await fetch('{url}', {{\n"
        "  method: 'POST',\n"
        f"  headers: {{\n    'Content-Type': 'application/json',{auth}\n  }},\n"
        f"  body: JSON.stringify({payload}),\n"
        "});\n"
        f"{read}"
    )


SNIPPETS = {"curl": as_curl, "python": as_python, "typescript": as_typescript}


def exchange_summary(ex: Exchange) -> dict[str, Any]:
    """One row of the request log, JSON-able and free of secrets."""
    return {
        "time": ex.started,
        "method": ex.method,
        "path": ex.path,
        "status": ex.status,
        "model_requested": ex.model_requested,
        "model_used": ex.model_used,
        "finish_reason": ex.finish_reason,
        "ttft_s": ex.ttft_s,
        "tokens_per_second": ex.tokens_per_second,
        "completion_tokens": ex.usage.completion_tokens if ex.usage else None,
        "duration_s": ex.duration_s,
        "error": ex.error,
    }
