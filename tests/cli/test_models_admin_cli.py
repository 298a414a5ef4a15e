"""``lmtui models load | unload | download | list`` through the real entry point."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunLmtui
from tests.fake_models_admin import add_catalog, mark_loading
from tests.fake_server import FakeModel, FakeServer

LLM = "qwen2.5-7b-instruct"
REASONER = "deepseek-r1-distill-qwen-14b"
VLM = "qwen/qwen2.5-vl-7b"


def models_json(run_lmtui: RunLmtui, srv: FakeServer) -> dict[str, dict[str, object]]:
    result = run_lmtui("models", "--json", "--base-url", srv.base_url)
    assert result.returncode == 0, result.stderr
    return {m["id"]: m for m in json.loads(result.stdout)["models"]}


def run_in_pty(*args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``python -m lmtui ARGS`` with stdout on a pseudo-terminal; (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmtui", *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("no output from the command in time")
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout)
    return code, b"".join(chunks).decode("utf-8", "replace")


# ---- list --------------------------------------------------------------------------


def test_list_shows_every_instance_and_the_loading_state(
    run_lmtui: RunLmtui, fake_server: FakeServer
) -> None:
    url = fake_server.base_url
    assert run_lmtui("models", "load", LLM, "-c", "16384", "--base-url", url).returncode == 0
    mark_loading(fake_server, VLM)
    listed = models_json(run_lmtui, fake_server)
    instances = listed[LLM]["instances"]
    assert isinstance(instances, list)
    assert [(i["id"], i["config"]["context_length"]) for i in instances] == [
        (LLM, 8192),
        (f"{LLM}:2", 16384),
    ]
    assert listed[VLM]["state"] == "loading"
    table = run_lmtui("models", "list", "--base-url", url)
    assert f"└ {LLM}:2" in table.stdout and "16384" in table.stdout
    vlm_row = next(line for line in table.stdout.splitlines() if line.startswith(VLM))
    assert "loading" in vlm_row


# ---- load --------------------------------------------------------------------------


def test_load_sends_exactly_the_options_and_prints_applied_config_and_time(
    run_lmtui: RunLmtui, fake_server: FakeServer
) -> None:
    result = run_lmtui(
        "models", "load", REASONER, "--context-length", "16384", "--base-url", fake_server.base_url
    )
    assert result.returncode == 0, result.stderr
    sent = fake_server.requests_to("/api/v1/models/load")[-1].json_body
    assert sent == {"model": REASONER, "context_length": 16384, "echo_load_config": True}
    assert f"Loaded {REASONER} in 1.25 s" in result.stdout
    assert "applied: context 16,384 · batch 512 · flash attention off · KV cache on GPU" in (
        result.stdout
    )
    instances = models_json(run_lmtui, fake_server)[REASONER]["instances"]
    assert isinstance(instances, list)
    assert [i["config"]["context_length"] for i in instances] == [16384]


def test_load_every_option_as_json(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    result = run_lmtui(
        "models",
        "load",
        REASONER,
        "-c",
        "8192",
        "--flash-attention",
        "--cpu-kv",
        "--eval-batch-size",
        "256",
        "--experts",
        "4",
        "--json",
        "--base-url",
        fake_server.base_url,
    )
    assert result.returncode == 0, result.stderr
    sent = fake_server.requests_to("/api/v1/models/load")[-1].json_body
    assert sent == {
        "model": REASONER,
        "context_length": 8192,
        "eval_batch_size": 256,
        "flash_attention": True,
        "num_experts": 4,
        "offload_kv_cache_to_gpu": False,
        "echo_load_config": True,
    }
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["load_time_seconds"] == 1.25
    assert data["applied"] == {
        k: v for k, v in sent.items() if k not in ("model", "echo_load_config")
    }


def test_load_is_remembered_for_the_dialog(
    run_lmtui: RunLmtui, fake_server: FakeServer, isolated_dirs: object
) -> None:
    from lmtui.services.model_admin import RememberedLoadOptions

    run_lmtui(
        "models", "load", REASONER, "-c", "12288", "--gpu-kv", "--base-url", fake_server.base_url
    )
    remembered = RememberedLoadOptions().get(REASONER)
    assert (remembered.context_length, remembered.offload_kv_cache_to_gpu) == (12288, True)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-c", "10000000"], "at most 131,072"),
        (["-c", "10"], "too small"),
        (["--eval-batch-size", "0"], "out of range"),
    ],
)
def test_load_options_out_of_range_send_nothing(
    run_lmtui: RunLmtui, fake_server: FakeServer, args: list[str], needle: str
) -> None:
    result = run_lmtui("models", "load", REASONER, *args, "--base-url", fake_server.base_url)
    assert result.returncode == 2
    assert needle in result.stderr and "remedy:" in result.stderr
    assert fake_server.requests_to("/api/v1/models/load") == []


def test_load_unknown_model_names_download(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    result = run_lmtui("models", "load", "no/such", "--json", "--base-url", fake_server.base_url)
    assert result.returncode == 5
    data = json.loads(result.stdout)
    assert data["ok"] is False and "lmtui models download" in data["remedy"]


def test_load_on_lmstudio_03_is_not_supported(run_lmtui: RunLmtui) -> None:
    with FakeServer(native_v1=False) as srv:
        result = run_lmtui("models", "load", REASONER, "--base-url", srv.base_url)
    assert result.returncode != 0
    assert "api/v1" in result.stderr and "lms load" in result.stderr
    assert "Traceback" not in result.stderr


def test_load_without_token_needs_token(run_lmtui: RunLmtui) -> None:
    with FakeServer(token="t0k") as srv:
        result = run_lmtui("models", "load", REASONER, "--base-url", srv.base_url)
    assert result.returncode == 4
    assert "LMTUI_API_TOKEN" in result.stderr


# ---- unload ------------------------------------------------------------------------


def test_unload_picks_the_instance(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    url = fake_server.base_url
    for ctx in ("16384", "4096"):
        run_lmtui("models", "load", LLM, "-c", ctx, "--base-url", url)
    # An exact instance id names one instance (the first one carries the model key).
    first = run_lmtui("models", "unload", LLM, "--base-url", url)
    assert first.returncode == 0 and f"Unloaded {LLM}\n" == first.stdout
    # Now the key names no instance but two remain: say which.
    ambiguous = run_lmtui("models", "unload", LLM, "--base-url", url)
    assert ambiguous.returncode == 2
    assert f"{LLM}:2, {LLM}:3" in ambiguous.stderr and "--all" in ambiguous.stderr
    done = run_lmtui("models", "unload", f"{LLM}:2", "--json", "--base-url", url)
    assert json.loads(done.stdout) == {"ok": True, "unloaded": [f"{LLM}:2"]}
    assert fake_server.requests_to("/api/v1/models/unload")[-1].json_body == {
        "instance_id": f"{LLM}:2"
    }
    # One instance left: the model key is enough now.
    last = run_lmtui("models", "unload", LLM, "--base-url", url)
    assert last.returncode == 0 and f"Unloaded {LLM}:3" in last.stdout
    assert models_json(run_lmtui, fake_server)[LLM]["loaded"] is False


def test_unload_all(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    result = run_lmtui("models", "unload", "--all", "--base-url", fake_server.base_url)
    assert result.returncode == 0
    assert result.stdout.count("Unloaded ") == 2
    assert not any(m.loaded for m in fake_server.models)
    again = run_lmtui("models", "unload", "--all", "--base-url", fake_server.base_url)
    assert "Nothing was loaded." in again.stdout


@pytest.mark.parametrize("args", [[], ["x", "--all"], ["nothing-here"]])
def test_unload_asks_for_one_instance_or_all(
    run_lmtui: RunLmtui, fake_server: FakeServer, args: list[str]
) -> None:
    result = run_lmtui("models", "unload", *args, "--base-url", fake_server.base_url)
    assert result.returncode == 2 and "remedy:" in result.stderr
    assert fake_server.requests_to("/api/v1/models/unload") == []


# ---- download ----------------------------------------------------------------------


@pytest.fixture
def catalog(fake_server: FakeServer) -> FakeServer:
    add_catalog(
        fake_server, "some/model", FakeModel("some/model", size_bytes=3_000_000_000), steps=4
    )
    return fake_server


def test_download_not_a_terminal_prints_one_line_per_state(
    run_lmtui: RunLmtui, catalog: FakeServer
) -> None:
    result = run_lmtui(
        "models", "download", "some/model", "--poll", "0.01", "--base-url", catalog.base_url
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "some/model: queued 0% · 0 B / 3.0 GB"
    assert lines[1].startswith("some/model: downloading 25% · 750.0 MB / 3.0 GB · 50.0 MB/s")
    assert lines[1].endswith(" left")
    assert lines[2] == "some/model: downloaded (3.0 GB)."
    assert lines[3].startswith("Ready: listed as some/model.")
    assert len(lines) == 4  # the two later "downloading" answers changed no state
    assert "\r" not in result.stdout
    assert len(catalog.requests_to("/api/v1/models/download")) == 1


def test_download_on_a_terminal_shows_live_progress(catalog: FakeServer) -> None:
    code, out = run_in_pty(
        "models", "download", "some/model", "--poll", "0.01", "--base-url", catalog.base_url
    )
    assert code == 0, out
    frames = out.split("\r")
    assert any("[######------------------]  25% downloading" in f for f in frames)
    assert any("75%" in f and "2.2 GB / 3.0 GB" in f for f in frames)
    assert "some/model: downloaded (3.0 GB)." in out
    assert "Ready: listed as some/model." in out


def test_download_json_lines(run_lmtui: RunLmtui, catalog: FakeServer) -> None:
    result = run_lmtui(
        "models",
        "download",
        "some/model",
        "--json",
        "--poll",
        "0.01",
        "--base-url",
        catalog.base_url,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["status"] for e in events] == ["queued", "downloading", "completed", "completed"]
    assert events[-1]["event"] == "done" and events[-1]["listed_as"] == "some/model"
    assert events[1]["downloaded_bytes"] == 750_000_000 and events[1]["bytes_per_second"]


def test_download_already_there(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    result = run_lmtui("models", "download", LLM, "--base-url", fake_server.base_url)
    assert result.returncode == 0
    assert f"{LLM}: already downloaded." in result.stdout
    assert fake_server.requests_to("/api/v1/models/download/status/") == []


def test_download_failure_is_explained(run_lmtui: RunLmtui, fake_server: FakeServer) -> None:
    add_catalog(fake_server, "bad/model", FakeModel("bad/model"), steps=5, fail_at=2)
    result = run_lmtui(
        "models", "download", "bad/model", "--poll", "0.01", "--base-url", fake_server.base_url
    )
    assert result.returncode == 10
    assert "bad/model: the download failed." in result.stderr
    assert "remedy:" in result.stderr and "Downloads panel" in result.stderr
    assert "Traceback" not in result.stderr


def test_download_follows_an_existing_job(run_lmtui: RunLmtui, catalog: FakeServer) -> None:
    import asyncio

    from lmtui.backend.client import LMStudioClient

    async def start() -> str:
        async with LMStudioClient(catalog.base_url) as client:
            job = await client.download_model("some/model")
        assert job.job_id
        return job.job_id

    job_id = asyncio.run(start())
    result = run_lmtui(
        "models",
        "download",
        "some/model",
        "--job",
        job_id,
        "--poll",
        "0.01",
        "--base-url",
        catalog.base_url,
    )
    assert result.returncode == 0
    assert len(catalog.requests_to("/api/v1/models/download")) == 1  # no second start
    assert "downloaded (3.0 GB)" in result.stdout


def test_download_needs_api_v1(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    with FakeServer(native_v1=False) as srv:
        result = run_lmtui("models", "download", "some/model", "--base-url", srv.base_url)
    assert result.returncode != 0 and "api/v1" in result.stderr


def test_ctrl_c_leaves_the_download_running_in_lmstudio(fake_server: FakeServer) -> None:
    import signal

    add_catalog(fake_server, "slow/model", FakeModel("slow/model"), steps=10**6)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lmtui",
            "models",
            "download",
            "slow/model",
            "--poll",
            "0.05",
            "--base-url",
            fake_server.base_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the job exists and is being followed
    assert first.startswith("slow/model: queued")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "continues in LM Studio" in err
    assert "lmtui models download slow/model --job job_" in err
    assert "Traceback" not in err
