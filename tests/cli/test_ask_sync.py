"""``lmtui ask`` on the synchronous path: no asyncio, and everything ask did still done."""

from __future__ import annotations

import os
import subprocess
import sys

from lmtui.store.history import HistoryStore
from tests.conftest import REPO_ROOT
from tests.fake_native_chat import NativeReply, native
from tests.fake_server import FakeServer, Reply

MODEL = "qwen2.5-7b-instruct"

# Modules a plain `lmtui ask` has no use for: the other subcommands (only the named
# command's parser is built), the repetition watch (off for ask), the TOML parser (no
# config file here), httpx-sse (backend/sse.py splits the stream).
OTHER_COMMANDS = ("models", "models_admin", "doctor", "presets", "history", "batch", "local")
NOT_FOR_ASK = (
    *(f"lmtui.cli.{name}" for name in (*OTHER_COMMANDS, "servers")),
    "lmtui.services.repetition",
    "tomllib",
    "httpx_sse",
)

# The real entry point, then a look at what it loaded.
PROBE = f"""
import sys
from lmtui.cli import main
code = main(sys.argv[1:])
sys.stderr.write(f"asyncio loaded: {{'asyncio' in sys.modules}}\\n")
sys.stderr.write(f"orjson loaded: {{'orjson' in sys.modules}}\\n")
unwanted = sorted(set({NOT_FOR_ASK!r}) & set(sys.modules))
sys.stderr.write(f"loaded, not for ask: {{unwanted}}\\n")
raise SystemExit(code)
"""


def ask(fake: FakeServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, "--base-url", fake.base_url, "ask", "--model", MODEL, *args],
        env=dict(os.environ),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stored_reply() -> tuple[str, str, str]:
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        _, messages = store.get_conversation(conv.id)
    prompt, reply = messages
    return prompt.content, reply.content, reply.state


def test_ask_streams_and_saves_without_importing_asyncio(fake_server: FakeServer) -> None:
    # /api/v1 models listed but no /api/v1/chat: detection, a refused native turn, the
    # OpenAI path — every step of the route on the sync client.
    fake_server.enqueue(Reply(text="Hello from the sync path."))
    done = ask(fake_server, "-v", "hi")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the sync path.\n"
    assert "asyncio loaded: False" in done.stderr
    # json reads its events: orjson's import (~9 ms) costs one reply more than it saves.
    assert "orjson loaded: False" in done.stderr
    assert "loaded, not for ask: []" in done.stderr
    assert "path: openai: the server has no /api/v1/chat" in done.stderr  # -v figures
    assert stored_reply() == ("hi", "Hello from the sync path.", "complete")


def test_native_chat_on_the_sync_path(fake_server: FakeServer) -> None:
    fake_server.native_chat = True
    native(fake_server).enqueue(NativeReply(text="Paris.", reasoning=("Capital.",)))
    done = ask(fake_server, "--reasoning", "capital of France?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Paris.\n"
    assert "Capital." in done.stderr  # --reasoning shows it on stderr
    assert "asyncio loaded: False" in done.stderr
    assert "loaded, not for ask: []" in done.stderr
    assert fake_server.requests_to("/api/v1/chat")[-1].json_body["input"] == "capital of France?"
    assert stored_reply() == ("capital of France?", "Paris.", "complete")


def test_a_reply_cut_mid_stream_is_kept_and_said(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(text="the first words and then nothing more", cut_after=3))
    done = ask(fake_server, "--native", "off", "hi")
    assert done.returncode == 8, done.stderr
    assert done.stdout == "the first wo\n"
    assert "Interrupted" in done.stderr and "remedy:" in done.stderr
    assert "Traceback" not in done.stderr
    assert stored_reply() == ("hi", "the first wo", "interrupted")


def test_an_error_before_the_reply_is_one_line_with_a_remedy(fake_server: FakeServer) -> None:
    done = ask(fake_server, "--native", "off", "--model", "no-such-model", "hi")
    assert done.returncode == 5
    assert "has no model 'no-such-model'" in done.stderr and "remedy" in done.stderr
    assert "Traceback" not in done.stderr
