"""``lmtui ask`` against a misbehaving server: the partial reply kept, one line, an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, IsolatedDirs, RunLmtui
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import lmtui_env, write_config

MODEL = "qwen2.5-7b-instruct"


def test_ask_cut_after_100_deltas_prints_the_partial_reply_and_exits_8(
    fake_server: FakeServer, run_lmtui: RunLmtui
) -> None:
    deltas = [f"d{i} " for i in range(300)]
    fake_server.enqueue(Reply(deltas=deltas, cut_after=100))
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "talk")
    assert done.returncode == 8
    assert done.stdout == "".join(deltas[:100]) + "\n"
    assert "Traceback" not in done.stderr
    explanation = [line for line in done.stderr.splitlines() if line.startswith("lmtui:")]
    assert len(explanation) == 1
    assert "Interrupted" in explanation[0]
    assert "closed the connection mid-reply" in explanation[0]


def test_stalled_stream_uses_read_timeout_from_config(
    fake_server: FakeServer, run_lmtui: RunLmtui, isolated_dirs: IsolatedDirs
) -> None:
    write_config(isolated_dirs, "read_timeout = 0.5\n")
    fake_server.enqueue(Reply(text="the start of it and then nothing", stall_after=3))
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "hi")
    assert done.returncode == 8
    assert done.stdout == "the start of\n"
    assert "Interrupted: no data from the server for 0.5 s" in done.stderr
    assert "Traceback" not in done.stderr


def test_refused_connection_is_one_line_and_exit_3(run_lmtui: RunLmtui) -> None:
    with FakeServer() as srv:
        url = srv.base_url  # a port that was just free and is closed again
    done = run_lmtui("--base-url", url, "-m", MODEL, "ask", "hi")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == f"lmtui: Cannot reach the server at {url}: " + (
        "refused the connection."
    )
    assert "Traceback" not in done.stderr


def test_five_megabyte_reply_reaches_a_file_byte_exact(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    line = "ünïcödé — 日本語 — plain ascii, and a tab\there " * 20 + "\n"
    text = (line * (5_000_000 // len(line.encode()) + 1))[: 5_000_000 // 2]
    text += "é" * (5_000_000 - len(text.encode())) + "\n"  # pad with 2-byte characters
    # 40,000 deltas: folding each one into the reply's text (a quadratic copy) would take
    # minutes and hit the timeout; the reply is saved to history too.
    deltas = [text[i : i + 128] for i in range(0, len(text), 128)]
    fake_server.enqueue(Reply(deltas=deltas))
    out = tmp_path / "reply.txt"
    args = ["--base-url", fake_server.base_url, "-m", MODEL, "ask", "big"]
    with out.open("wb") as sink:
        done = subprocess.run(
            [sys.executable, "-m", "lmtui", *args],
            stdout=sink,
            stderr=subprocess.PIPE,
            env=lmtui_env(),
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    got = out.read_bytes()
    assert len(got) >= 5_000_000
    assert got == text.encode("utf-8")


def test_an_error_mid_reply_ends_the_partial_line_before_the_message(
    fake_server: FakeServer, run_lmtui: RunLmtui
) -> None:
    fake_server.enqueue(Reply(text="half of a reply", error_chunk_at=2))
    done = run_lmtui("--base-url", fake_server.base_url, "-m", MODEL, "ask", "hi")
    assert done.returncode == 10
    assert done.stdout == "half of \n"
    assert done.stderr.startswith("lmtui: The server reported an error: Compute error.")
