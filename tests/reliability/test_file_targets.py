"""Every file-writing command pointed at a path that is not a plain new file.

``lmtui batch --out`` and ``lmtui history export --out`` aimed at a symlink, someone
else's file, a FIFO, a directory, a null or full device, or ``/dev/stdout``: lmtui
refuses in one line before doing any work, and the path is left exactly as it was.

The devices are made with ``mknod`` in the test's directory (the same major/minor
numbers as ``/dev/null`` and ``/dev/full``): the suite runs as root in CI, where
replacing the real ``/dev/null`` is what the bug did, and these copies make that
harmless. lmtui's refusal does not depend on the user: it looks at the path type
(``lstat``) before anything else, so the same check holds for a normal user, where
the old code only failed after the whole run.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import lmtui_env

MODEL = "qwen2.5-7b-instruct"
FOREIGN = "my notes\nnot a batch row\n"


def _device(path: Path, minor: int) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD here")
    return path


def make_target(kind: str, tmp: Path) -> Path:
    """A path of the given kind inside ``tmp``."""
    victim = tmp / "victim.txt"
    victim.write_text("precious\n")
    path = tmp / f"target-{kind}"
    if kind == "symlink":
        path.symlink_to(victim)
    elif kind == "dangling-symlink":
        path.symlink_to(tmp / "nowhere.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "null-device":
        _device(path, 3)
    elif kind == "full-device":
        _device(path, 7)
    elif kind == "stdout-link":
        path.symlink_to("/dev/stdout")
    return path


def state(path: Path) -> tuple[object, ...]:
    """What a path is and holds, to prove it was left alone."""
    st = os.lstat(path)
    kind = stat.S_IFMT(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return (kind, os.readlink(path), stat.S_IMODE(st.st_mode))
    if stat.S_ISREG(st.st_mode):
        return (kind, path.read_bytes(), stat.S_IMODE(st.st_mode))
    return (kind, st.st_rdev, stat.S_IMODE(st.st_mode))


KINDS = [
    "symlink",
    "dangling-symlink",
    "fifo",
    "directory",
    "null-device",
    "full-device",
    "stdout-link",
]


def run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run lmtui with stdout into a pipe (``/dev/stdout`` then names that pipe)."""
    return subprocess.run(
        [sys.executable, "-m", "lmtui", *args],
        capture_output=True,
        text=True,
        env=lmtui_env(),
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("lmtui:")]
    assert len(lines) == 1, done.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_batch_out_never_writes_through_a_link_a_device_or_a_fifo(
    kind: str, tmp_path: Path, fake_server: FakeServer
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    target = make_target(kind, tmp_path)
    victim = tmp_path / "victim.txt"
    before, victim_before = state(target), state(victim)
    done = run(
        "--base-url", fake_server.base_url, "-m", MODEL, "batch", str(source), "--out", str(target)
    )
    assert_refused(done)
    assert "not a regular file" in done.stderr or "symbolic link" in done.stderr
    assert state(target) == before
    assert state(victim) == victim_before
    assert not fake_server.requests_to("/v1/chat/completions")  # refused before any work


def test_batch_out_refuses_a_file_that_is_not_its_own_output(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\n")
    out = tmp_path / "notes.jsonl"
    out.write_text(FOREIGN)
    done = run(
        "--base-url", fake_server.base_url, "-m", MODEL, "batch", str(source), "--out", str(out)
    )
    assert_refused(done)
    assert "line 1 is not an lmtui batch row" in done.stderr
    assert out.read_text() == FOREIGN


def test_batch_out_is_private_and_resumable_in_a_regular_file(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    out = tmp_path / "out.jsonl"
    fake_server.default_reply = Reply(text="ok")
    args = (
        "--base-url",
        fake_server.base_url,
        "-m",
        MODEL,
        "batch",
        str(source),
        "--out",
        str(out),
    )
    assert run(*args).returncode == 0
    out.chmod(0o644)
    assert run(*args).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [json.loads(ln)["index"] for ln in out.read_text().splitlines()] == [0, 1]


def _history_with_one_conversation(tmp_path: Path) -> None:
    src = tmp_path / "conv.jsonl"
    src.write_text(json.dumps({"title": "t", "messages": [{"role": "user", "content": "hi"}]}))
    assert run("history", "import", str(src)).returncode == 0


@pytest.mark.parametrize("kind", KINDS)
def test_history_export_never_writes_through_a_link_a_device_or_a_fifo(
    kind: str, tmp_path: Path
) -> None:
    _history_with_one_conversation(tmp_path)
    target = make_target(kind, tmp_path)
    victim = tmp_path / "victim.txt"
    before, victim_before = state(target), state(victim)
    for force in ((), ("--force",)):
        done = run("history", "export", "--out", str(target), *force)
        assert_refused(done)
        assert state(target) == before
        assert state(victim) == victim_before


def test_history_export_overwrites_only_with_force_and_always_0600(tmp_path: Path) -> None:
    _history_with_one_conversation(tmp_path)
    out = tmp_path / "existing.md"
    out.write_text("keep me\n")
    out.chmod(0o644)
    done = run("history", "export", "--out", str(out))
    assert_refused(done)
    assert "--force" in done.stderr
    assert out.read_text() == "keep me\n"
    done = run("history", "export", "--out", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert "# t" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.json"
    assert run("history", "export", "--format", "json", "--out", str(fresh)).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_history_export_to_a_dash_is_standard_output(tmp_path: Path) -> None:
    _history_with_one_conversation(tmp_path)
    done = run("history", "export", "--out", "-")
    assert done.returncode == 0
    assert "# t" in done.stdout
    assert not (REPO_ROOT / "-").exists()


def test_fixing_modes_never_follows_a_symlink(tmp_path: Path) -> None:
    from lmtui.store.paths import history_db

    shared = tmp_path / "shared.sqlite3"
    shared.touch()
    shared.chmod(0o644)
    db = history_db()
    db.parent.mkdir(parents=True)
    db.symlink_to(shared)
    run("history", "list")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert db.is_symlink()


def test_a_read_only_data_directory_is_not_made_writable(tmp_path: Path) -> None:
    from lmtui.store.paths import data_dir

    data = data_dir()
    data.mkdir(parents=True)
    data.chmod(0o555)
    try:
        run("history", "list")
        assert stat.S_IMODE(data.stat().st_mode) == 0o500  # closed to others, not opened up
    finally:
        data.chmod(0o700)


@pytest.mark.parametrize("kind", ["fifo", "zero", "directory"])
def test_reads_take_regular_files_only_and_never_hang(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "config.toml"
        os.mkfifo(path)  # no writer: opening it to read would wait forever
    elif kind == "zero":
        path = Path("/dev/zero")  # reading it whole would eat every byte of memory
    else:
        path = tmp_path
    for args in (("--config", str(path), "models"), ("history", "import", str(path))):
        done = run(*args, timeout=30)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"Cannot read {path}" in done.stderr or "not a regular file" in done.stderr


def test_a_broken_preset_file_is_named_not_called_missing(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    from lmtui.store.paths import presets_dir

    broken = presets_dir() / "coder.toml"
    broken.parent.mkdir(parents=True)
    broken.write_text('name = "coder"\ntemperature = [unclosed\n')
    source = tmp_path / "in.txt"
    source.write_text("one\n")
    out = tmp_path / "out.jsonl"
    base = ("--base-url", fake_server.base_url, "-m", MODEL)
    for args in ((*base, "ask", "--preset", "coder", "hi"), ("presets", "show", "coder")):
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "No preset named" not in done.stderr
        assert f"{broken}: line 2" in done.stderr, done.stderr
    # batch records a row's problem in its output row and goes on
    done = run(*base, "batch", str(source), "--out", str(out), "--preset", "coder")
    assert done.returncode == 1, done.stderr
    row = json.loads(out.read_text())
    assert f"{broken}: line 2" in row["error"] and "No preset named" not in row["error"]
