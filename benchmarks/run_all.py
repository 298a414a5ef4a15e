"""Run one benchmark per row of issue 19's table, and optionally today's code beside each.

    .venv/bin/python benchmarks/run_all.py [--today /work/main] [--only NAME ...] [--out FILE]

Each row's script runs as its own process from this checkout (cwd = the checkout, so
``python -m lmtui`` is this checkout's lmtui), in an environment like a user's:
bytecode cached (``PYTHONDONTWRITEBYTECODE`` and ``PYTHONUNBUFFERED`` removed, byte code
kept under a private ``PYTHONPYCACHEPREFIX``). With ``--today DIR``, the same row is
then measured for the code in DIR (another checkout, e.g. the main branch), with DIR's
own copy of the script, or this one run from DIR, in the same sitting. Every script prints its
figures (each a ratio to a baseline it measures in the same run, or a time); this
runner prints them under the row's name and, with ``--out``, saves the whole report.

Rows without a script are listed as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One row of the table: its name, its script and arguments, how to run today's code."""

    name: str
    script: str | None
    args: tuple[str, ...] = ()
    # Arguments for today's run when they differ (None: run DIR's script with ``args``).
    today_args: tuple[str, ...] | None = None
    # Today's code measured by this checkout's script (DIR has no such script).
    today_by_flag: str | None = None
    # Today's code measured by this checkout's script run from DIR (cwd and PYTHONPATH).
    today_here: bool = False


ROWS = (
    Row(
        "TUI: Enter → 4,000-delta Markdown reply on screen ÷ the wire",
        "stream_tui.py",
        ("--deltas", "4000", "--runs", "5"),
        today_here=True,  # this script's ratios (the bare client's own stream) for both
    ),
    Row(
        "semantic search, one query over 200k 768-dim vectors",
        "semantic_search.py",
        ("--runs", "5"),
        today_by_flag="--today",
    ),
    Row(
        "TUI startup to the model id on screen (also stream_tui.py's 'startup' line)",
        "startup.py",
        ("--runs", "7", "--imports", "--from-server"),
        today_by_flag="--today",
    ),
    Row(
        "`lmtui ask`, 4,000 deltas ÷ the bare sync httpx-sse consumer",
        "headless_stream.py",
        ("--deltas", "4000", "--runs", "7"),
        today_here=True,
    ),
    Row(
        "bytes to the terminal per streamed character, 100 deltas/s",
        "terminal_bytes.py",
        ("--runs", "3", "--delay", "0.01"),
    ),
    Row(
        "a 5 MB reply, last delta → fully rendered, keys while it streams",
        "huge_reply.py",
        ("--mb", "5", "--runs", "1"),
        today_here=True,  # today's checkout has no such script: this one runs its app
    ),
    Row(
        "history writes while another process holds the lock",
        "history_locked.py",
        ("--runs", "2"),
        today_by_flag="--today",
    ),
    Row(
        "history of 1,000,000 messages / 50,000 conversations",
        "history_scale.py",
        ("--scale", "5", "--runs", "5", "--no-readme"),
    ),
    Row(
        "… the history browser's screen at that size (open, pages, search)",
        "history_browser.py",
        ("--scale", "5", "--runs", "1"),
        today_by_flag="--today",
    ),
)


def bench_env(code: Path) -> dict[str, str]:
    """A user-like environment for timed processes, running the lmtui in ``code``."""
    env = dict(os.environ)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "lmtui-bench-pycache")
    env["PYTHONPATH"] = str(code)
    return env


def run_script(code: Path, script: Path, args: tuple[str, ...], timeout: float) -> str:
    """Run one benchmark script; return what it printed (and how it ended)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=code,
            env=bench_env(code),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"(timed out after {timeout:.0f} s)\n"
    took = time.perf_counter() - start
    out = done.stdout
    if done.returncode != 0:
        out += f"(exit {done.returncode}) {done.stderr.strip()[-800:]}\n"
    return out + f"(script took {took:.0f} s)\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--today", type=Path, help="also measure the code in this checkout")
    parser.add_argument("--only", nargs="*", help="scripts to run (e.g. headless_stream.py)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per script")
    parser.add_argument("--out", type=Path, help="save the report to this file")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    report = [
        f"# make bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"# {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the start",
        "",
    ]
    print("\n".join(report), flush=True)
    for row in ROWS:
        if args.only and row.script not in args.only:
            continue
        lines = [f"## {row.name}"]
        if row.script is None:
            lines.append("(no script of its own)")
        else:
            here = ROOT / "benchmarks" / row.script
            lines.append(f"### this checkout ({ROOT})")
            extra = () if row.today_by_flag is None or args.today else ("--no-today",)
            if row.today_by_flag and args.today:
                extra = (row.today_by_flag, str(args.today))
            lines.append(run_script(ROOT, here, (*row.args, *extra), args.timeout).rstrip())
            if args.today is not None and row.today_by_flag is None:
                theirs = here if row.today_here else args.today / "benchmarks" / row.script
                lines.append(f"### today ({args.today})")
                if theirs.exists():
                    today_args = row.today_args if row.today_args is not None else row.args
                    lines.append(run_script(args.today, theirs, today_args, args.timeout).rstrip())
                else:
                    lines.append(f"(no {row.script} there)")
        block = "\n".join(lines) + "\n"
        print(block, flush=True)
        report.append(block)
    report.append(f"# load average {os.getloadavg()[0]:.1f} at the end")
    if args.out is not None:
        args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
