"""A data directory made read-only (``chmod 555``) is reported once, naming it and the remedy.

The suite runs as root, who writes into a 0555 directory anyway: each run drops
CAP_DAC_OVERRIDE (``setpriv``), so the kernel checks modes as it does for any user.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fake_server import FakeServer, Reply
from tests.reliability.conftest import lmtui_env

pytestmark = pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")

MODEL = "qwen2.5-7b-instruct"
DROP = "-dac_override,-dac_read_search,-fowner"


def _as_plain_user(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--inh-caps=-all", f"--bounding-set={DROP}", sys.executable, *argv],
        capture_output=True,
        text=True,
        env=lmtui_env(),
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def read_only_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory holding one conversation, then made ``chmod 555``."""
    from lmtui.store.paths import history_db

    src = tmp_path / "conv.jsonl"
    src.write_text(json.dumps({"title": "t", "messages": [{"role": "user", "content": "hi"}]}))
    done = subprocess.run(
        [sys.executable, "-m", "lmtui", "history", "import", str(src)],
        env=lmtui_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    directory = history_db().parent
    directory.chmod(0o555)
    try:
        yield directory
    finally:
        directory.chmod(0o700)


def _note_lines(stderr: str, directory: Path) -> list[str]:
    return [line for line in stderr.splitlines() if str(directory) in line]


def test_the_cli_says_once_that_the_data_directory_is_read_only(
    read_only_data_dir: Path, fake_server: FakeServer
) -> None:
    directory = read_only_data_dir
    listed = _as_plain_user("-m", "lmtui", "history", "list")
    assert listed.returncode == 0, listed.stderr
    assert "t" in listed.stdout  # still read
    notes = _note_lines(listed.stderr, directory)
    assert len(notes) == 1, listed.stderr
    assert "read-only" in notes[0] and f"chmod u+w {directory}" in notes[0]
    fake_server.enqueue(Reply(content="an answer"))
    asked = _as_plain_user(
        "-m", "lmtui", "--base-url", fake_server.base_url, "-m", MODEL, "ask", "hi"
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == "an answer"
    assert "Traceback" not in asked.stderr
    notes = _note_lines(asked.stderr, directory)
    assert len(notes) == 1, asked.stderr
    assert "read-only" in notes[0] and f"chmod u+w {directory}" in notes[0]
    assert len(asked.stderr.strip().splitlines()) == 1, asked.stderr


_APP = textwrap.dedent(
    """
    import asyncio, sys
    from lmtui.store.config import Config
    from lmtui.ui.app import LmtuiApp

    async def main() -> None:
        app = LmtuiApp(Config(base_url=sys.argv[1], model=sys.argv[2]), server_label="fake")
        async with app.run_test() as pilot:
            for _ in range(200):
                if app._notifications:
                    break
                await pilot.pause(0.01)
            await pilot.pause(0.1)
            for n in app._notifications:
                print("NOTICE", " ".join(f"{n.title} {n.message}".split()))
            print("STATUS", app.chat_screen.status.warning)

    asyncio.run(main())
    """
)


def test_the_app_says_once_that_the_data_directory_is_read_only(
    read_only_data_dir: Path, fake_server: FakeServer
) -> None:
    directory = read_only_data_dir
    done = _as_plain_user("-c", _APP, fake_server.base_url, MODEL)
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stdout.splitlines() if line.startswith("NOTICE")]
    about = [line for line in notices if str(directory) in line]
    assert len(about) == 1, done.stdout
    assert "read-only" in about[0] and f"chmod u+w {directory}" in about[0]
