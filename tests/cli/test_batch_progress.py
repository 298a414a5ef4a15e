"""The batch progress display: the live one on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import SamplingParams
from lmtui.cli.batch_progress import LiveProgress, PlainProgress, bar, progress_display
from lmtui.services.batch import BatchProgress, BatchRow
from lmtui.services.batch_pool import PoolServer, ServerPool


def _resolve(row: BatchRow) -> tuple[str, str, SamplingParams]:
    return "m", "", SamplingParams()


def _pool() -> ServerPool:
    client = LMStudioClient("http://127.0.0.1:9")
    a = PoolServer("studio", client, _resolve, 2, "server")
    b = PoolServer("gpu-box", client, _resolve, 3, "--concurrency", done=4)
    b.down, b.down_reason = True, "refused the connection"
    return ServerPool([a, b])


def test_bar_is_plain_characters() -> None:
    assert bar(10, 40, width=8) == "██░░░░░░ 25%"
    assert bar(0, 0, width=4) == "░░░░ 0%"


def test_piped_output_gets_plain_lines() -> None:
    stream = io.StringIO()
    display = progress_display(_pool(), 10, stream)
    assert isinstance(display, PlainProgress)
    display.update(BatchProgress(total=10, skipped=1, done=3, invalid=1, failed=1))
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("[6/10] valid 3, invalid 1, failed 1, skipped 1")
    assert line.endswith("· studio 0; gpu-box 4")


def test_the_live_display_has_a_line_per_server() -> None:
    live = LiveProgress(_pool(), 10)
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    console.print(live._render(BatchProgress(total=10, skipped=0, done=5)))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[5/10] valid 5")
    assert lines[1].endswith("50%")
    assert lines[2].strip().startswith("studio: 0 rows") and "0/2 busy" in lines[2]
    assert "gpu-box: 4 rows" in lines[3] and "OUT (refused the connection)" in lines[3]
