"""A lean start (issue 19): the app and the history commands load only what they use.

Each check runs a fresh interpreter, so nothing this test session imported can hide an
import, and reads that interpreter's ``sys.modules``. Markdown and syntax highlighting,
numpy, jsonschema, the workbench and the model dialogs load when first needed, not to
draw the first frame; ``history search`` loads the store and nothing of the network or
the UI. How long a start takes is measured by benchmarks/startup.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fake_server import FakeServer

ROOT = Path(__file__).resolve().parent.parent

# Not needed for the first frame of the chat screen.
NOT_AT_START = (
    "markdown_it",
    "pygments",
    "rich.markdown",
    "rich.syntax",
    "numpy",
    "jsonschema",
    "aiohttp",  # the replies' transport (~130 ms), warmed after the first frame
    "lmtui.backend.aio_stream",
    "orjson",  # their JSON decoder (~10 ms), warmed with it
    "lmtui.ui.chat_markdown",
    "lmtui.ui.workbench",
    "lmtui.ui.workbench_menu",
    "lmtui.ui.model_admin_ui",
    "lmtui.ui.download_dialog",
    "lmtui.ui.load_dialog",
    "lmtui.ui.history_browser",
    "lmtui.ui.preset_picker",
    "lmtui.ui.param_panel",
    "lmtui.ui.theme_picker",
    "lmtui.ui.inspector_screen",
    "lmtui.ui.troubleshoot",
)

# Not needed to search the history: the network, the event loop, the UI, the records'
# tool-call types and the import/export formats.
NOT_FOR_SEARCH = (
    "asyncio",
    "httpx",
    "aiohttp",
    "textual",
    "rich",
    "lmtui.backend.types",
    "lmtui.store.history_export",
    "numpy",
)

# The app as `lmtui --base-url URL --model M` starts it, headless, until its first frame.
FIRST_FRAME = """
import json, sys
from contextlib import ExitStack
from lmtui.cli import build_parser
from lmtui.cli.common import load_effective_config
from lmtui.ui.launch import build_app, plan_launch
args = build_parser().parse_args(["--base-url", sys.argv[1], "--model", "some-model"])
cfg = load_effective_config(args)
with ExitStack() as stack:
    app = build_app(args, cfg, plan_launch(args, cfg, stack))
    async def first_frame(pilot):
        status = str(pilot.app.screen.query_one("#status").render())
        print(json.dumps({"modules": sorted(sys.modules), "status": status}))
        pilot.app.exit()
    app.run(headless=True, auto_pilot=first_frame, size=(120, 40))
"""

# The same app left idle for a moment after its first frame, as a user types a prompt.
IDLE_AFTER_START = FIRST_FRAME.replace(
    "    async def first_frame(pilot):\n",
    "    async def first_frame(pilot):\n"
    "        import threading\n"
    "        await pilot.pause(0.5)\n"
    "        for thread in threading.enumerate():\n"
    "            if thread.name == 'lmtui-warm-up':\n"
    "                thread.join(10)\n",
)

# `lmtui ARGS` in process, then the modules it loaded (on stderr: stdout is the command's).
COMMAND = """
import json, sys
from lmtui.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages count with their submodules) are in ``modules``."""
    return sorted(
        name for name in names if any(m == name or m.startswith(name + ".") for m in modules)
    )


def test_the_first_frame_loads_no_heavy_module(fake_server: FakeServer) -> None:
    done = _run(FIRST_FRAME, fake_server.base_url)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # It is the real first frame: the chat screen with the model id in the status line.
    assert "lmtui.ui.chat_screen" in report["modules"]
    assert "model: some-model" in report["status"]
    assert _loaded(report["modules"], NOT_AT_START) == []


def test_the_reply_renderer_loads_while_the_app_waits_for_the_first_prompt(
    fake_server: FakeServer,
) -> None:
    # Not at the first frame (above), but before the first reply needs it: the first
    # reply's stream no longer stops for the import (lmtui/ui/warm_up.py).
    assert "async def first_frame(pilot):\n        import threading" in IDLE_AFTER_START
    done = _run(IDLE_AFTER_START, fake_server.base_url)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "model: some-model" in report["status"]
    wanted = (
        "lmtui.ui.chat_markdown",
        "markdown_it",
        "rich.syntax",
        "pygments.lexers.python",
        "aiohttp",
        "lmtui.backend.aio_stream",
        "orjson",
    )
    assert _loaded(report["modules"], wanted) == sorted(wanted)


def test_history_search_loads_the_store_only() -> None:
    done = _run(COMMAND, "history", "search", "anything", "--json")
    assert json.loads(done.stdout)["hits"] == []  # it searched (an empty history)
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert "lmtui.store.history" in modules
    assert _loaded(modules, NOT_FOR_SEARCH) == []


def test_version_loads_neither_the_store_nor_the_network() -> None:
    done = _run(COMMAND, "--version")
    assert done.stdout.startswith("lmtui ")
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert _loaded(modules, ("sqlite3", "lmtui.store.history", *NOT_FOR_SEARCH)) == []
