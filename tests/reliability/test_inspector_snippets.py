"""The inspector's "copy as" snippets: Python that runs, and the token's real variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lmtui.services.inspector import as_curl, as_python, as_typescript
from tests.conftest import REPO_ROOT
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import lmtui_env

MODEL = "qwen2.5-7b-instruct"
TOKEN = "sk-lm-snippet-test-token"


def body(stream: bool) -> dict[str, object]:
    # true/false/null in JSON: the values that made the old snippet a NameError.
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
        "logprobs": False,
        "seed": None,
    }


@pytest.mark.parametrize("stream", [False, True])
def test_copy_as_python_runs_against_the_server(stream: bool) -> None:
    with FakeServer(token=TOKEN, default_reply=Reply(text="snippet reply")) as srv:
        code = as_python(
            srv.base_url,
            "/v1/chat/completions",
            body(stream),
            with_token=True,
            token_source="env:LM_API_TOKEN",
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=lmtui_env({"LM_API_TOKEN": TOKEN, "LMTUI_API_TOKEN": None}),
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "snippet reply" in done.stdout


def test_snippets_name_the_variable_the_token_came_from() -> None:
    url = "http://alice:s3cret@127.0.0.1:1234"
    for source, name in (("env:LM_API_TOKEN", "LM_API_TOKEN"), ("env:GPU_TOKEN", "GPU_TOKEN")):
        for make in (as_curl, as_python, as_typescript):
            text = make(
                url, "/v1/chat/completions", body(False), with_token=True, token_source=source
            )
            assert name in text
            assert "LMTUI_API_TOKEN" not in text
            assert "s3cret" not in text and "alice" not in text
    from_config = as_curl(url, "/v1/models", {}, with_token=True, token_source="config")
    assert "config.toml" in from_config and "$LMTUI_API_TOKEN" in from_config
