"""Fixtures shared by every test: private XDG dirs, the fake server, and running the CLI.

Subdirectories add their own fixtures in their own ``conftest.py``; keep this one general.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmtui.services.local_server import LocalServer
from tests.fake_server import FakeServer
from tests.integration.helpers import (
    REAL_CONTEXT,
    REAL_PARALLEL,
    ensure_bundled_model,
    pid_alive,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
XDG_NAMES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")


@dataclass(frozen=True)
class IsolatedDirs:
    """The temporary XDG directories a test runs with."""

    config: Path
    data: Path
    state: Path
    cache: Path

    @property
    def config_file(self) -> Path:
        """Where lmtui looks for ``config.toml`` in this test."""
        return self.config / "lmtui" / "config.toml"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IsolatedDirs:
    """Point every XDG directory into ``tmp_path`` and drop lmtui's env vars.

    Autouse, so no test reads or writes the real home directory or is steered by the
    developer's own ``LMTUI_*`` settings or token.
    """
    dirs = IsolatedDirs(*(tmp_path / "xdg" / n.removeprefix("XDG_").lower() for n in XDG_NAMES))
    for name, path in zip(XDG_NAMES, (dirs.config, dirs.data, dirs.state, dirs.cache), strict=True):
        monkeypatch.setenv(name, str(path))
    for name in list(os.environ):
        if name.startswith("LMTUI_") or name == "LM_API_TOKEN":
            monkeypatch.delenv(name)
    return dirs


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A fresh fake LM Studio server on a free 127.0.0.1 port, stopped after the test."""
    with FakeServer() as srv:
        yield srv


RunLmtui = Callable[..., "subprocess.CompletedProcess[str]"]


def _run_lmtui(
    *args: str,
    input: str | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lmtui ARGS`` in a subprocess with the test's (isolated) environment.

    ``env`` adds or overrides variables; a value of None removes one.
    """
    full_env = dict(os.environ)
    full_env.setdefault("PYTHONIOENCODING", "utf-8")
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "lmtui", *args],
        input=input,
        env=full_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def run_lmtui() -> RunLmtui:
    """The ``run_lmtui(*args, input=None, env=None, timeout=60)`` helper.

    It returns the ``CompletedProcess`` (text mode) of the real entry point, run with the
    isolated XDG dirs of the test.
    """
    return _run_lmtui


# The real llama.cpp server, shared by every folder of tests (started at most once).
@pytest.fixture(scope="session")
def smollm_path() -> Path:
    """Path of the SmolLM2 GGUF file."""
    return ensure_bundled_model()


@pytest.fixture(scope="session")
def real_server(
    smollm_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """The real llama.cpp server (xllamacpp + SmolLM2), started once for the session."""
    log = tmp_path_factory.mktemp("real-server") / "local-server.log"
    server = LocalServer.start(
        smollm_path, context_length=REAL_CONTEXT, parallel=REAL_PARALLEL, log_path=log
    )
    try:
        yield server
    finally:
        server.stop()
    assert not pid_alive(server.pid)
