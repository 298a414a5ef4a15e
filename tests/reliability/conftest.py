"""Helpers for the reliability and security suite: pty runs, config files, file scans."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import REPO_ROOT, IsolatedDirs
from tests.ui.conftest import fake, make_app  # noqa: F401  (fixtures for the app tests)


def lmtui_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The test's environment (isolated XDG dirs) plus ``extra``; None removes a variable."""
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_in_pty(
    *args: str, env: Mapping[str, str | None] | None = None, timeout: float = 60
) -> tuple[int, bytes, str]:
    """Run ``python -m lmtui ARGS`` with stdout on a pseudo-terminal.

    Returns the exit code, every byte written to the terminal and stderr (a pipe).
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmtui", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=lmtui_env(env),
        cwd=REPO_ROOT,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise AssertionError("lmtui wrote nothing to the terminal for too long")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, b"".join(chunks), err


def write_config(dirs: IsolatedDirs, text: str, mode: int = 0o600) -> Path:
    """Write ``config.toml`` in the isolated config dir with ``mode``."""
    path = dirs.config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def every_file(dirs: IsolatedDirs) -> Iterator[Path]:
    """Every regular file under the isolated config, data, state and cache dirs."""
    for root in (dirs.config, dirs.data, dirs.state, dirs.cache):
        if root.exists():
            yield from (p for p in sorted(root.rglob("*")) if p.is_file())


def files_holding(dirs: IsolatedDirs, needle: str) -> list[Path]:
    """The files under the isolated XDG dirs whose bytes contain ``needle``."""
    raw = needle.encode()
    return [p for p in every_file(dirs) if raw in p.read_bytes()]


def snapshot(path: Path) -> tuple[bytes, int]:
    """A file's bytes and modification time, to prove it was left alone."""
    return path.read_bytes(), path.stat().st_mtime_ns
