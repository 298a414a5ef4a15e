"""Hostile arguments, environment and stdin for every subcommand: never a traceback.

A Hypothesis property drives generated argument lists (NaN, infinities, huge numbers,
control characters, Latin-1 bytes, bad URLs), environment values and stdin bytes
through every headless subcommand and checks the promise of docs/cli.md: no traceback,
at most one error line, a documented exit code. Named cases cover what an outside
tester found: ``ask | head -c 100``, stdout on ``/dev/full``, ``-t nan``, Latin-1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import lmtui_env

MODEL = "qwen2.5-7b-instruct"
DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 130}


def run_bytes(
    argv: list[bytes],
    env: dict[str, bytes] | None = None,
    stdin: bytes = b"",
    stdout: object = None,
) -> tuple[int, str, bytes]:
    """Run ``python -m lmtui`` with byte arguments and environment (as a shell would)."""
    full = {k.encode(): v.encode() for k, v in lmtui_env().items()}
    full.update({k.encode(): v for k, v in (env or {}).items()})
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"lmtui", *argv],
        input=stdin,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env=full,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stderr.decode("utf-8", "replace"), proc.stdout or b""


def assert_clean_failure(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    assert code in DOCUMENTED, (code, err)
    # argparse's own error line is "lmtui ...: error: ..."; lmtui's are "lmtui: ...".
    errors = [
        ln
        for ln in err.splitlines()
        if ln.startswith("lmtui") and not ln.startswith("lmtui: warning")
    ]
    if code not in (0, 1):
        assert len(errors) == 1, err


HOSTILE_WORDS = [
    b"nan",
    b"inf",
    b"-inf",
    b"1e309",
    b"-1",
    b"0",
    b"99999999999999999999",
    b"caf\xe9",
    b"\x1b]0;x\x07",
    b"",
    b" ",
    b"-",
    b"--",
    b"http://[::1",
    b"javascript:alert(1)",
    b"file:///etc/passwd",
    b"http://h:99999",
    b"\xff\xfe",
    b"x" * 5000,
]
word = st.one_of(
    st.sampled_from(HOSTILE_WORDS),
    st.binary(min_size=1, max_size=12).filter(lambda b: b"\x00" not in b),
)
SUBCOMMANDS: dict[str, list[bytes]] = {
    "ask": [
        b"-t",
        b"--top-p",
        b"--top-k",
        b"-n",
        b"--seed",
        b"--stop",
        b"--system",
        b"--json",
        b"-v",
        b"--raw",
    ],
    "models": [b"--json"],
    "doctor": [b"--json"],
    "presets": [b"list", b"show", b"--json"],
    "history": [
        b"list",
        b"search",
        b"show",
        b"export",
        b"import",
        b"rm",
        b"restore",
        b"rename",
        b"--limit",
        b"--out",
        b"--format",
        b"--json",
    ],
    "batch": [b"--out", b"-j", b"-t", b"-n", b"--prompt-column"],
    "servers": [b"--json", b"--timeout"],
}


@pytest.fixture(scope="module")
def server() -> FakeServer:
    with FakeServer(default_reply=Reply(text="a short reply")) as srv:
        yield srv


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sub=st.sampled_from(sorted(SUBCOMMANDS)),
    data=st.data(),
    url=st.sampled_from([None, b"javascript:x", b"http://[::1", b"http://127.0.0.1:1", b"caf\xe9"]),
    model=st.sampled_from([None, b"caf\xe9", b"\x1b[2J", MODEL.encode()]),
    stdin=st.sampled_from([b"", b"caf\xe9\n", b"\x00\x01\x02", "ok ünï".encode()]),
)
def test_hostile_arguments_env_and_stdin_never_give_a_traceback(
    server: FakeServer,
    tmp_path: Path,
    sub: str,
    data: st.DataObject,
    url: bytes | None,
    model: bytes | None,
    stdin: bytes,
) -> None:
    flags = data.draw(st.lists(st.sampled_from(SUBCOMMANDS[sub]), max_size=3))
    argv = [sub.encode()]
    for flag in flags:
        argv += [flag, data.draw(word)]
    argv += data.draw(st.lists(word, max_size=2))
    env: dict[str, bytes] = {"LMTUI_BASE_URL": url or server.base_url.encode()}
    if model is not None:
        env["LMTUI_MODEL"] = model
    code, err, _ = run_bytes(argv, env, stdin)
    assert_clean_failure(code, err)


def test_ask_into_head_c_100_is_quiet_and_exit_0(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(text="word " * 20_000))
    args = [
        sys.executable,
        "-m",
        "lmtui",
        "--base-url",
        fake_server.base_url,
        "-m",
        MODEL,
        "ask",
        "hi",
    ]
    for _ in range(3):
        fake_server.enqueue(Reply(text="word " * 20_000))
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lmtui_env(), cwd=REPO_ROOT
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.read(100)
        proc.stdout.close()  # what `head -c 100` does once it has its bytes
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, err
        assert len(first) == 100
        assert err == "", err


@pytest.mark.parametrize(
    "args",
    [
        ("ask", "hi"),
        ("history", "list"),
        ("history", "export"),
        ("history", "show", "1"),
        ("models",),
    ],
)
def test_stdout_on_a_full_device_is_one_line_and_exit_15(
    args: tuple[str, ...], fake_server: FakeServer, tmp_path: Path
) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text('{"title": "t", "messages": [{"role": "user", "content": "hi"}]}\n')
    assert run_bytes([b"history", b"import", str(src).encode()])[0] == 0
    fake_server.enqueue(Reply(text="a reply " * 2000))
    with open("/dev/full", "wb") as full:
        argv = [
            b"--base-url",
            fake_server.base_url.encode(),
            b"-m",
            MODEL.encode(),
            *(a.encode() for a in args),
        ]
        code, err, _ = run_bytes(argv, stdout=full)
    assert code == 15, err
    assert_clean_failure(code, err)
    assert "No space left on device" in err


@pytest.mark.parametrize(
    ("argv", "stdin", "env", "needle"),
    [
        ([b"ask", b"-t", b"nan", b"hi"], b"", {}, "temperature must be a finite number"),
        ([b"ask", b"--top-p", b"inf", b"hi"], b"", {}, "top_p must be a finite number"),
        ([b"ask", b"caf\xe9"], b"", {}, "prompt argument is not UTF-8"),
        ([b"ask"], b"caf\xe9 au lait\n", {}, "Standard input is not UTF-8"),
        ([b"ask", b"hi"], b"", {"LMTUI_MODEL": b"caf\xe9"}, "LMTUI_MODEL is not UTF-8"),
        ([b"--base-url", b"javascript:alert(1)", b"models"], b"", {}, "not a usable server URL"),
        ([b"--base-url", b"file:///etc", b"models"], b"", {}, "not an http(s) URL"),
        ([b"--base-url", b"ftp://h", b"models"], b"", {}, "not an http(s) URL"),
        ([b"--base-url", b"http://h:99999", b"models"], b"", {}, "bad port"),
        ([b"--base-url", b"http://a b", b"models"], b"", {}, "space"),
        ([b"--base-url", b"http://[::1", b"models"], b"", {}, "host is not valid"),
        # An id past SQLite's INTEGER range once ended in "internal error: OverflowError".
        ([b"history", b"show", b"99999999999999999999"], b"", {}, "no such id"),
        ([b"history", b"rm", b"-5"], b"", {}, "no such id"),
    ],
)
def test_named_hostile_inputs_are_one_line_exit_2(
    argv: list[bytes], stdin: bytes, env: dict[str, bytes], needle: str, fake_server: FakeServer
) -> None:
    code, err, _out = run_bytes(
        [b"--base-url", fake_server.base_url.encode(), b"-m", MODEL.encode(), *argv], env, stdin
    )
    assert code == 2, err
    assert_clean_failure(code, err)
    assert needle in err
    assert not fake_server.requests_to("/v1/chat/completions")


def test_a_nan_read_timeout_in_config_is_a_config_error(tmp_path: Path) -> None:
    from lmtui.store.paths import config_file

    cfg = config_file()
    cfg.parent.mkdir(parents=True)
    cfg.write_text("read_timeout = nan\n")
    code, err, _ = run_bytes([b"models"])
    assert code == 2
    assert_clean_failure(code, err)
    assert "'read_timeout' must be a positive number" in err
