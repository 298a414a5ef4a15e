"""Start the project's fake LM Studio server as a process, for the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_fake_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start this checkout's ``tests/fake_server.py`` with ``args``.

    Args:
        args: the server's command-line arguments (``--deltas 4000 --markdown`` …).

    Returns:
        The process (stop it with ``terminate()``) and its base URL. Exits the
        benchmark when the server does not say its URL.
    """
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_server.py"), *args],
        stdout=subprocess.PIPE,
        text=True,
        # This checkout's fake server and its helpers, whichever lmtui is being timed.
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"fake server did not start (got {url!r})")
    return proc, url
