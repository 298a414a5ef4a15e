"""The API token goes to its server and nowhere else: no message, file, log or export."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from lmtui.backend.errors import REDACTED
from lmtui.ui.app import LmtuiApp
from tests.conftest import IsolatedDirs, RunLmtui
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import every_file, files_holding, snapshot, write_config
from tests.ui.conftest import send, wait_idle

AppFactory = Callable[..., LmtuiApp]
MODEL = "qwen2.5-7b-instruct"


def new_token() -> str:
    """A random token, so a match can only come from lmtui writing it."""
    return "sk-lm-" + secrets.token_hex(16)


def echoing(token: str) -> list[Reply]:
    """Error replies that send the token back, the way a careless proxy or server might."""
    return [
        Reply(status=500, body={"error": {"message": f"bad header Bearer {token}"}}),
        Reply(status=401, body={"error": f"token {token} is not valid"}),
        Reply(status=503, body=f"upstream rejected {token}", content_type="text/plain"),
        Reply(
            text="partial answer",
            error_chunk_at=2,
            error_chunk={"error": {"message": f"stream failed for {token}"}},
        ),
        Reply(error_in_200={"error": f"no such key {token}"}),
    ]


def test_a_token_echoed_in_error_bodies_is_never_printed(
    fake_server: FakeServer, run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs
) -> None:
    token = new_token()
    env = {"LMTUI_API_TOKEN": token}
    for reply in echoing(token):
        for extra in ((), ("--json",)):
            fake_server.enqueue(reply)
            done = run_lmtui(
                "--base-url", fake_server.base_url, "-m", MODEL, "ask", *extra, "hi", env=env
            )
            assert done.returncode != 0
            assert token not in done.stdout + done.stderr
            assert "Traceback" not in done.stderr
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in fake_server.requests)
    # The server's words around the token are still there to read.
    fake_server.enqueue(echoing(token)[0])
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "hi", env=env)
    assert f"bad header Bearer {REDACTED}" in done.stderr
    assert files_holding(isolated_dirs, token) == []


def test_token_from_env_reaches_no_file_through_ask_batch_and_export(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs, tmp_path: Path
) -> None:
    token = new_token()
    env = {"LMTUI_API_TOKEN": token}
    with FakeServer(token=token) as srv:
        base = ("--base-url", srv.base_url, "-m", MODEL)
        assert run_lmtui(*base, "ask", "first question", env=env).returncode == 0
        for reply in echoing(token):
            srv.enqueue(reply)
            assert run_lmtui(*base, "ask", "-v", "failing question", env=env).returncode != 0
        prompts = tmp_path / "prompts.txt"
        prompts.write_text("one\ntwo\nthree\n")
        out = isolated_dirs.data / "batch-out.jsonl"
        srv.enqueue(echoing(token)[0])
        batch = run_lmtui(*base, "batch", str(prompts), "--out", str(out), env=env)
        assert token not in batch.stdout + batch.stderr
        assert out.exists() and len(out.read_text().splitlines()) == 3
        asked = [r for r in srv.requests if r.path == "/v1/chat/completions"]
        assert len(asked) == 1 + 5 + 3
        assert all(r.headers["authorization"] == f"Bearer {token}" for r in asked)
    for fmt in ("md", "json"):
        export = isolated_dirs.data / f"export.{fmt}"
        done = run_lmtui("history", "export", "--format", fmt, "--out", str(export), env=env)
        assert done.returncode == 0, done.stderr
        assert "first question" in export.read_text()
    shown = run_lmtui("history", "show", "1", env=env)
    assert "first question" in shown.stdout and token not in shown.stdout
    scanned = list(every_file(isolated_dirs))
    assert any(p.name == "history.sqlite3" for p in scanned)
    assert files_holding(isolated_dirs, token) == []


@pytest.mark.real_server
def test_token_stays_out_of_the_embedded_servers_log(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs, smollm_path: Path
) -> None:
    token = new_token()
    done = run_lmtui(
        "ask",
        "--local",
        "--gguf",
        str(smollm_path),
        "-n",
        "4",
        "Say hi",
        env={"LMTUI_API_TOKEN": token},
    )
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    logs = [p for p in every_file(isolated_dirs) if p.suffix == ".log"]
    assert logs, "the embedded server wrote no log"
    assert files_holding(isolated_dirs, token) == []


async def test_a_token_echoed_back_is_not_shown_anywhere_in_the_app(
    fake: FakeServer, make_app: AppFactory, isolated_dirs: IsolatedDirs
) -> None:
    token = new_token()
    for reply in echoing(token)[:4]:
        fake.enqueue(reply)
    app = make_app(api_token=token)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(4):
            await send(pilot, f"question {n}")
            await wait_idle(pilot)
        await pilot.pause()
        texts = [e.content + (e.error or "") + e.detail for e in app.chat_screen.session.entries]
        texts += [str(n.message) for n in app._notifications]
        texts += [app.export_screenshot(), str(app.chat_screen.status.render())]
        log = list(app.request_log)
        assert len(log) >= 4
        texts += [json.dumps([ex.response, ex.error], default=str) for ex in log]
        for text in texts:
            assert token not in text
        assert any(REDACTED in (e.error or "") for e in app.chat_screen.session.entries)
    assert files_holding(isolated_dirs, token) == []


def test_a_shared_config_file_with_a_token_is_refused_untouched(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs, fake_server: FakeServer
) -> None:
    token = new_token()
    path = write_config(isolated_dirs, f'api_token = "{token}"\n', mode=0o644)
    before = snapshot(path)
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "hi")
    assert done.returncode == 2
    assert str(path) in done.stderr and "644" in done.stderr and "chmod 600" in done.stderr
    assert token not in done.stdout + done.stderr
    assert fake_server.requests == []  # nothing was sent
    assert snapshot(path) == before


def test_a_token_over_plain_http_to_another_host_is_warned_about(
    run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs
) -> None:
    write_config(isolated_dirs, "connect_timeout = 0.2\n")
    token = new_token()
    env = {"LMTUI_API_TOKEN": token}
    # 192.0.2.0/24 (TEST-NET-1) is never routed: the connection just times out.
    done = run_lmtui("--base-url", "http://192.0.2.1:1234", "-m", MODEL, "ask", "hi", env=env)
    assert done.returncode == 3
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "unencrypted" in warnings[0]
    assert token not in done.stderr
    safe = run_lmtui("--base-url", "https://192.0.2.1:1234", "-m", MODEL, "ask", "hi", env=env)
    assert safe.returncode == 3
    assert "warning" not in safe.stderr
