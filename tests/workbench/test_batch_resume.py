"""``lmtui batch`` killed mid-run, then rerun: only the missing rows are asked again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT, RunLmtui
from tests.fake_server import FakeServer, Reply
from tests.workbench.helpers import CHAT_MODEL

ROWS = 8


def _good_indexes(out: Path) -> set[int]:
    done = set()
    for line in out.read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line the kill cut short
        if row.get("error") is None:
            done.add(row["index"])
    return done


def _prompt(body: object) -> str:
    assert isinstance(body, dict)
    return str(body["messages"][-1]["content"])


def test_batch_resumes_after_sigkill(tmp_path: Path, run_lmtui: RunLmtui) -> None:
    prompts = [f"question {i}" for i in range(ROWS)]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"prompt": p, "id": f"q{i}"}) + "\n" for i, p in enumerate(prompts))
    )
    out = tmp_path / "out.jsonl"
    slow = Reply(deltas=["one ", "two ", "three"], delta_delay=0.1)
    with FakeServer(default_reply=slow) as server:
        args = [
            str(source),
            "--out",
            str(out),
            "--base-url",
            server.base_url,
            "--model",
            CHAT_MODEL,
            "-j",
            "1",
        ]
        proc = subprocess.Popen(
            [sys.executable, "-m", "lmtui", "batch", *args],
            cwd=REPO_ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            # Wait (bounded) for some rows, then kill without warning.
            for _ in range(600):
                if out.exists() and len(_good_indexes(out)) >= 2:
                    break
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        done_first = _good_indexes(out)
        assert 2 <= len(done_first) < ROWS
        asked_first = len(server.requests_to("/v1/chat/completions"))

        server.default_reply = None  # answer the rerun at once (echo)
        second = run_lmtui("batch", *args)
        assert second.returncode == 0, second.stderr
        assert f"{len(done_first)} already done" in second.stderr

        rerun = server.requests_to("/v1/chat/completions")[asked_first:]
        missing = [prompts[i] for i in range(ROWS) if i not in done_first]
        assert sorted(_prompt(r.json_body) for r in rerun) == sorted(missing)

    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["index"] for r in rows] == list(range(ROWS))
    assert all(r["error"] is None for r in rows)
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(ROWS)]
    for i, row in enumerate(rows):
        expected = "one two three" if i in done_first else prompts[i]
        assert row["output"] == expected
