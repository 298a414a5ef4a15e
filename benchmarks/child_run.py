"""Run a benchmark's own ``--child`` half in a fresh process with another checkout's lmtui."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def child_figures(script: str, code: Path, args: list[str], timeout: float) -> dict[str, float]:
    """Run ``script --child ARGS`` with ``code`` first on the path; return its figures.

    Args:
        script: the benchmark's file (its ``__file__``).
        code: the checkout whose lmtui the child imports.
        args: the child's arguments after ``--child``.
        timeout: seconds before the child is given up on.

    Returns:
        The JSON object on the child's last line of output. A failed child ends the
        benchmark with its error's tail.
    """
    done = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--child", *args],
        env=dict(os.environ, PYTHONPATH=str(code)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{code}: {done.stderr.strip()[-1500:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures
