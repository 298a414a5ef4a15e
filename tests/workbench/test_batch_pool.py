"""``lmtui batch`` with schemas, images and several servers, on the wire against fake servers."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.services.batch_pool import DEFAULT_SLOTS, server_slots
from lmtui.services.schemas import validation_errors
from lmtui.store.builtin_presets import TEMPLATE_METADATA_FORMAT
from tests.conftest import REPO_ROOT, RunLmtui
from tests.fake_server import FakeModel, FakeServer, Reply
from tests.fake_workbench import image_urls
from tests.workbench.test_images_headless import JPEG, PNG, VLM, WEBP, vision_server

CHAT = "qwen2.5-7b-instruct"
META_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "category": {"type": "string", "enum": ["wedding", "birthday", "baby_shower"]},
    },
    "required": ["title", "category"],
    "additionalProperties": False,
}


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text("utf-8").splitlines() if line.strip()]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def _schema(tmp_path: Path) -> Path:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(META_SCHEMA), "utf-8")
    return path


# ---- schemas and images ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["preset", "schema"])
def test_three_image_rows_become_three_validated_rows(
    run_lmtui: RunLmtui, tmp_path: Path, how: str
) -> None:
    """The guide's template script, headless: a folder of images → validated metadata rows."""
    if how == "preset":
        ask = ["--preset", "Template metadata"]
        schema = TEMPLATE_METADATA_FORMAT["json_schema"]["schema"]
    else:
        ask = ["--schema", str(_schema(tmp_path))]
        schema = META_SCHEMA
    folder = tmp_path / "templates"
    folder.mkdir()
    files = {"a.png": PNG, "b.jpg": JPEG, "c.webp": WEBP}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    source = _jsonl(
        folder / "templates.jsonl",
        [{"id": n, "prompt": "Metadata for this template", "image": n} for n in files],
    )
    out = tmp_path / "out.jsonl"
    with vision_server() as srv:
        url = srv.base_url
        done = run_lmtui(
            "batch",
            str(source),
            "--out",
            str(out),
            "--base-url",
            url,
            "-m",
            VLM,
            *ask,
        )
        assert done.returncode == 0, done.stderr
        bodies = [r.json_body for r in srv.requests_to("/v1/chat/completions")]
        sent = [image_urls(r.json_body) for r in srv.requests_to("/v1/chat/completions")]
    mimes = {"a.png": "image/png", "b.jpg": "image/jpeg", "c.webp": "image/webp"}
    expected = [
        [f"data:{mimes[n]};base64," + base64.b64encode(d).decode()] for n, d in files.items()
    ]
    assert sorted(sent) == sorted(expected)
    assert all(b["response_format"]["json_schema"]["schema"] == schema for b in bodies)
    rows = _rows(out)
    assert [r["id"] for r in rows] == list(files)
    for row in rows:
        assert row["valid"] is True and row["error"] is None and row["schema_errors"] == []
        assert validation_errors(row["parsed"], schema) == ()
        assert row["parsed"]["category"] == "wedding"
        assert row["model"] == VLM and row["server"] == url


def test_batch_refuses_images_for_a_text_model_before_sending(
    run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": "x", "image": "a.png"}])
    with vision_server() as srv:
        done = run_lmtui(
            "batch",
            str(source),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--base-url",
            srv.base_url,
            "-m",
            CHAT,
        )
        assert srv.requests_to("/v1/chat/completions") == []
    assert done.returncode == 2
    assert "row 0" in done.stderr and "cannot see images" in done.stderr


def test_invalid_rows_are_retried_then_written_with_their_errors(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    bad = Reply(text='{"title": "x", "category": "funeral"}')
    for _ in range(3):
        fake_server.enqueue(bad)
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": "one"}])
    out = tmp_path / "out.jsonl"
    done = run_lmtui(
        "batch",
        str(source),
        "--out",
        str(out),
        "--base-url",
        fake_server.base_url,
        "-m",
        CHAT,
        "--schema",
        str(_schema(tmp_path)),
        "--retries",
        "2",
    )
    assert done.returncode == 1
    assert len(fake_server.requests_to("/v1/chat/completions")) == 3  # 1 + 2 retries
    (row,) = _rows(out)
    assert row["valid"] is False and row["attempts"] == 3
    assert row["parsed"] == {"title": "x", "category": "funeral"}
    assert any("'funeral' is not one of" in e for e in row["schema_errors"])
    assert row["error"] == "the reply does not follow the schema"
    assert "1 invalid" in done.stderr


def test_a_retry_that_validates_is_kept(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(text="not json at all"))  # then the fake answers by the schema
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": "one"}])
    out = tmp_path / "out.jsonl"
    done = run_lmtui(
        "batch",
        str(source),
        "--out",
        str(out),
        "--base-url",
        fake_server.base_url,
        "-m",
        CHAT,
        "--schema",
        str(_schema(tmp_path)),
        "--retries",
        "1",
    )
    assert done.returncode == 0, done.stderr
    (row,) = _rows(out)
    assert row["valid"] is True and row["attempts"] == 2 and row["error"] is None


def test_piped_progress_is_one_plain_line_per_row(
    fake_server: FakeServer, run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(4)])
    done = run_lmtui(
        "batch",
        str(source),
        "--out",
        str(tmp_path / "o.jsonl"),
        "--base-url",
        fake_server.base_url,
        "-m",
        CHAT,
    )
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 4
    assert lines[-1].startswith("[4/4] valid 4, invalid 0, failed 0")
    assert "\r" not in done.stderr and "\x1b" not in done.stderr


# ---- several servers --------------------------------------------------------------------


def _slow() -> Reply:
    return Reply(deltas=["a ", "b ", "c"], delta_delay=0.05)


def test_rows_spread_over_every_server_and_say_where_they_ran(
    run_lmtui: RunLmtui, tmp_path: Path
) -> None:
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(12)])
    out = tmp_path / "out.jsonl"
    servers = [FakeServer(default_reply=_slow(), slots=2).start() for _ in range(3)]
    try:
        urls = [s.base_url for s in servers]
        done = run_lmtui(
            "batch",
            str(source),
            "--out",
            str(out),
            "--servers",
            ",".join(urls),
            "-m",
            CHAT,
        )
        assert done.returncode == 0, done.stderr
        counts = [len(s.requests_to("/v1/chat/completions")) for s in servers]
    finally:
        for s in servers:
            s.close()
    assert sum(counts) == 12 and all(c >= 1 for c in counts), counts
    rows = _rows(out)
    assert sorted(r["index"] for r in rows) == list(range(12))
    assert {r["server"] for r in rows} == set(urls)
    assert all(r["model"] == CHAT for r in rows)


def test_a_dead_server_has_its_rows_moved(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    dead = FakeServer().start()
    dead_url = dead.base_url
    dead.close()  # nothing listens there any more
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(6)])
    out = tmp_path / "out.jsonl"
    with FakeServer() as alive:
        alive_url = alive.base_url
        done = run_lmtui(
            "batch",
            str(source),
            "--out",
            str(out),
            "--servers",
            f"{dead_url},{alive.base_url}",
            "-m",
            CHAT,
            "-j",
            "1",
            "--max-failures",
            "2",
        )
        assert done.returncode == 0, done.stderr
        assert len(alive.requests_to("/v1/chat/completions")) == 6
    rows = _rows(out)
    assert len(rows) == 6 and all(r["error"] is None for r in rows)
    assert {r["server"] for r in rows} == {alive_url}
    assert f"server {dead_url} was taken out after 2 failures" in done.stderr


def test_every_server_down_stops_the_run_with_one_line(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    dead = FakeServer().start()
    url = dead.base_url
    dead.close()
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": "q"}])
    done = run_lmtui(
        "batch",
        str(source),
        "--out",
        str(tmp_path / "o.jsonl"),
        "--servers",
        url,
        "-m",
        CHAT,
    )
    assert done.returncode == 3
    assert "Cannot reach the server" in done.stderr and "Traceback" not in done.stderr


async def test_slots_come_from_the_server_else_two() -> None:
    with FakeServer(slots=3) as said, FakeServer() as silent:
        async with LMStudioClient(said.base_url) as a, LMStudioClient(silent.base_url) as b:
            assert await server_slots(a, None) == (3, "server")
            assert await server_slots(b, None) == (DEFAULT_SLOTS, "default")
            assert await server_slots(b, 5) == (5, "--concurrency")


async def test_llamacpp_total_slots_are_read_from_props() -> None:
    with FakeServer(
        models=[FakeModel("m.gguf", loaded=True)],
        native_v0=False,
        native_v1=False,
        llamacpp_listing=True,
        slots=4,
    ) as srv:
        async with LMStudioClient(srv.base_url) as client:
            assert await server_slots(client, None) == (4, "server")


def _good(out: Path) -> set[int]:
    good = set()
    for line in out.read_text("utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("error") is None:
            good.add(row["index"])
    return good


def test_resume_after_sigkill_with_several_servers(tmp_path: Path) -> None:
    rows = 16
    source = _jsonl(tmp_path / "in.jsonl", [{"prompt": f"question {i}"} for i in range(rows)])
    out = tmp_path / "out.jsonl"
    slow = Reply(deltas=["one ", "two ", "three"], delta_delay=0.1)
    servers = [FakeServer(default_reply=slow).start() for _ in range(2)]
    try:
        urls = ",".join(s.base_url for s in servers)
        args = [str(source), "--out", str(out), "--servers", urls, "-m", CHAT, "-j", "1"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "lmtui", "batch", *args],
            cwd=REPO_ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                if out.exists() and len(_good(out)) >= 4:
                    break
                assert proc.poll() is None
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        first = _good(out)
        assert 4 <= len(first) < rows
        before = [len(s.requests_to("/v1/chat/completions")) for s in servers]
        done = subprocess.run(
            [sys.executable, "-m", "lmtui", "batch", *args],
            cwd=REPO_ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        asked_again = [
            int(r.json_body["messages"][-1]["content"].split()[-1])
            for s, n in zip(servers, before, strict=True)
            for r in s.requests_to("/v1/chat/completions")[n:]
        ]
    finally:
        for s in servers:
            s.close()
    # Only the rows missing after the kill were asked again, each once.
    assert sorted(asked_again) == sorted(set(range(rows)) - first)
    final = _rows(out)
    assert sorted(r["index"] for r in final) == list(range(rows))
    assert all(r["error"] is None for r in final)
