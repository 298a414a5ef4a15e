"""The request inspector: redaction and copy-as snippets."""

from __future__ import annotations

import ast
import json

from lmtui.backend.client import Exchange
from lmtui.services.inspector import (
    REDACTED,
    RequestLog,
    as_curl,
    as_python,
    as_typescript,
    exchange_summary,
    pretty,
    redact,
)

BODY = {
    "model": "qwen2.5-coder-7b-instruct",
    "messages": [{"role": "user", "content": 'it\'s "quoted"'}],
    "temperature": 0.3,
    "stream": True,
}


def test_redact_hides_secret_keys_at_any_depth() -> None:
    value = {"a": {"Authorization": "Bearer sk-1", "list": [{"api_key": "k"}]}, "ok": 1}
    out = redact(value)
    assert out["a"]["Authorization"] == REDACTED
    assert out["a"]["list"][0]["api_key"] == REDACTED
    assert out["ok"] == 1
    assert "sk-1" not in pretty(value)


def test_curl_snippet_reads_token_from_env_and_round_trips_body() -> None:
    text = as_curl("http://localhost:1234", "/v1/chat/completions", BODY, with_token=True)
    assert "$LMTUI_API_TOKEN" in text
    assert "-N" in text  # streaming: no buffering
    # The -d argument is a shell-quoted copy of the body.
    import shlex

    words = shlex.split(text.replace("\\\n", " "))
    assert json.loads(words[words.index("-d") + 1]) == BODY


def test_python_snippet_is_valid_python_for_both_modes() -> None:
    for body in (BODY, {**BODY, "stream": False}):
        code = as_python("http://h:1", "/v1/chat/completions", body, with_token=True)
        ast.parse(code)
        assert "os.environ['LMTUI_API_TOKEN']" in code


def test_typescript_snippet_has_no_token_when_none() -> None:
    code = as_typescript("http://h:1", "/v1/chat/completions", BODY, with_token=False)
    assert "Authorization" not in code
    assert "fetch('http://h:1/v1/chat/completions'" in code


def test_request_log_keeps_newest_within_limit() -> None:
    log = RequestLog(limit=3)
    for i in range(5):
        log.record(Exchange("POST", f"/p{i}", None, float(i)))
    assert len(log) == 3
    assert [e.path for e in log.last(2)] == ["/p4", "/p3"]
    row = exchange_summary(log.last(1)[0])
    assert row["path"] == "/p4" and row["error"] is None
