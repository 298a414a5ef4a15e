"""Files holding user data are 0600 in 0700 directories, whatever the umask says."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui.backend.types import SamplingParams
from lmtui.store import paths
from lmtui.store.history import HistoryStore
from lmtui.store.presets import Preset, save_preset
from lmtui.ui.themes import save_theme_choice
from tests.conftest import REPO_ROOT, IsolatedDirs
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import every_file, lmtui_env


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, so only lmtui's own modes protect the files."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_lmtui_writes_is_private(
    open_umask: None, isolated_dirs: IsolatedDirs, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply(content="saved reply"))
    done = subprocess.run(
        [sys.executable, "-m", "lmtui", "--base-url", fake_server.base_url, "-m", "m", "ask", "x"],
        env=lmtui_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.umask(0),
    )
    assert done.returncode == 0, done.stderr
    with HistoryStore() as store:
        store.save_draft("new", "a private draft")
    save_theme_choice("lmtui-dark")
    save_preset(Preset(name="Mine", system_prompt="be brief", params=SamplingParams()))

    written = list(every_file(isolated_dirs))
    names = {p.name for p in written}
    assert {"history.sqlite3", "config.toml", "mine.toml"} <= names, names
    for path in written:
        assert mode(path) == 0o600, path
    for root in (paths.config_dir(), paths.data_dir()):
        dirs = [root, *(p for p in root.rglob("*") if p.is_dir())]
        for directory in dirs:
            assert mode(directory) == 0o700, directory


def test_an_existing_open_directory_is_closed_down(
    open_umask: None, isolated_dirs: IsolatedDirs
) -> None:
    data = paths.data_dir()
    data.mkdir(parents=True, mode=0o777)
    data.chmod(0o777)
    HistoryStore().close()
    assert mode(data) == 0o700
    assert mode(paths.history_db()) == 0o600
