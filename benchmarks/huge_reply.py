"""A 5 MB reply in the terminal app: last delta → fully rendered, and keys while it streams.

What it measures (see benchmarks/README.md, "Huge replies"), in a real terminal (tmux),
against the fake server streaming a numbered Markdown document (no loop, so the
repetition detector keeps checking it as it would real text):

- last delta → rendered: from the moment the fake server wrote the reply's last byte
  (``--announce`` prints it) until the reply's footer (``finish: stop``, drawn after
  its last text) is on screen. The server paces the reply (``--rate``, 200 kB/s: 5 MB
  in ~25 s) so that the app keeps up and no backlog sits in the socket buffers when the
  server is done; with ``--rate 0`` it sends as fast as the app reads, and the figure
  then includes reading what the buffers still held;
- Enter → rendered, for scale;
- keystroke latency while the reply streams and settles: a character typed into the
  prompt box → visible, every ``--key-every`` seconds until the footer shows.

Run: ``.venv/bin/python benchmarks/huge_reply.py [--mb 5] [--delta-chars 64] [--runs 1]
[--keys-log FILE]``; the log (each key's monotonic send time and latency) lines keys up
with a probe's own timestamps (same clock) when hunting a slow one.
Needs tmux. Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tmux_pane import Pane

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LMTUI = ROOT / ".venv" / "bin" / "lmtui"
SOCKET = f"lmtui-huge-{os.getpid()}"  # a private tmux server
SESSION = "huge"
PASS_ON = ("PYTHONPATH", "PYTHONPYCACHEPREFIX")
UNSET = "-u PYTHONDONTWRITEBYTECODE -u PYTHONUNBUFFERED"
MODEL = "qwen2.5-7b-instruct"
ROUND = 20  # keys typed before they are deleted again


PANE = Pane(SESSION, SOCKET)
tmux, screen, wait_for = PANE.tmux, PANE.screen, PANE.wait_for


class Announcements:
    """The fake server's ``request``/``sent`` lines for chat requests (monotonic times)."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self._lock = threading.Lock()

    def read(self, lines: IO[str]) -> None:
        for line in lines:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "sent" and parts[2].endswith("/chat/completions"):
                with self._lock:
                    self.sent.append(float(parts[3]))

    def last_sent(self) -> float | None:
        with self._lock:
            return self.sent[-1] if self.sent else None


@contextmanager
def fake_server(deltas: int, size: int, delay: float) -> Iterator[tuple[str, Announcements]]:
    """The fake server streaming ``deltas`` deltas of ``size`` characters; URL and its news."""
    cmd = [str(PYTHON), str(ROOT / "tests" / "fake_server.py"), "--markdown", "--numbered"]
    cmd += ["--deltas", str(deltas), "--delta-chars", str(size), "--announce"]
    if delay:
        cmd += ["--delay", f"{delay:.6f}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    news = Announcements()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        threading.Thread(target=news.read, args=(proc.stdout,), daemon=True).start()
        yield url, news
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def app(base_url: str, home: Path) -> Iterator[None]:
    """lmtui in a 120×40 pane of the private tmux server."""
    env = " ".join(
        f"{k}={shlex.quote(str(home / k.lower()))}"
        for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    )
    passed = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in PASS_ON if k in os.environ)
    command = (
        f"env {UNSET} {passed} {env} TERM=xterm-256color {LMTUI} "
        f"--base-url {base_url} --model {MODEL}"
    )
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    try:
        yield
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")
        time.sleep(0.5)
        tmux("kill-server")


def one_run(base_url: str, news: Announcements, home: Path, key_every: float) -> dict[str, object]:
    """Stream one huge reply, typing while it streams; the figures of this run."""
    with app(base_url, home):
        if wait_for(lambda s: f"model: {MODEL}" in s, 20) is None:
            raise RuntimeError("the app did not start:\n" + screen())
        time.sleep(0.5)
        tmux("send-keys", "-t", SESSION, "-l", "go")
        wait_for(lambda s: "go" in s, 5)
        pressed = time.monotonic()
        tmux("send-keys", "-t", SESSION, "Enter")
        if wait_for(lambda s: "streaming" in s or "finish:" in s, 30) is None:
            raise RuntimeError("no reply started:\n" + screen())
        typed = "zq"  # an unlikely pair: what is looked for appears only in the prompt box
        tmux("send-keys", "-t", SESSION, "-l", typed)
        wait_for(lambda s: typed in s, 10)
        keys: list[float] = []
        sent_at: list[float] = []  # each key's monotonic send time (for --keys-log)
        done: float | None = None
        letters = "xjvkwy"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            text = screen()
            if "interrupted:" in text or "error:" in text:
                raise RuntimeError("the reply did not finish:\n" + text)
            if "finish: stop" in text:
                done = time.monotonic()
                break
            typed += letters[len(typed) % len(letters)]
            sent = time.monotonic()
            tmux("send-keys", "-t", SESSION, "-l", typed[-1])
            shown = wait_for(lambda s, t=typed: t in s or "finish: stop" in s, 10)
            if shown is None:
                keys.append(time.monotonic() - sent)  # not shown within 10 s: counted as 10 s
                sent_at.append(sent)
            elif typed in screen():
                keys.append(shown - sent)
                sent_at.append(sent)
            if done is None and shown is not None and "finish: stop" in screen():
                done = time.monotonic()
                break
            if len(typed) >= 2 + ROUND:
                # Keep the prompt on one row (a wrapped one is not found on screen).
                tmux("send-keys", "-t", SESSION, *["BSpace"] * ROUND)
                typed = typed[:-ROUND]
                wait_for(lambda s, t=typed + typed[-1:]: t not in s, 10)
            time.sleep(key_every)
        if done is None:
            raise RuntimeError("the reply never finished on screen:\n" + screen())
        # Keys right after the end, while the rest of the reply settles.
        if len(typed) > 2:
            tmux("send-keys", "-t", SESSION, *["BSpace"] * (len(typed) - 2))
            wait_for(lambda s, t=typed[:3]: t not in s, 10)  # all of them taken
        typed = typed[:2]
        after: list[float] = []
        for ch in "abcde":
            typed += ch
            sent = time.monotonic()
            tmux("send-keys", "-t", SESSION, "-l", ch)
            shown = wait_for(lambda s, t=typed: t in s, 10)
            after.append((shown or time.monotonic()) - sent)  # not shown: counted as 10 s
            time.sleep(0.05)
        last = news.last_sent()
        if last is None:
            raise RuntimeError("the fake server never said it sent the reply")
    return {
        "enter_s": done - pressed,
        "last_delta_s": done - last,
        "server_s": last - pressed,
        "keys": keys,
        "sent_at": sent_at,
        "after": after,
    }


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="reply size in MB (10^6 chars)")
    parser.add_argument("--delta-chars", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--key-every", type=float, default=0.2, help="seconds between keys")
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="kB/s the server sends at (0: as fast as the app reads)",
    )
    parser.add_argument(
        "--keys-log",
        type=Path,
        help="write each key's monotonic send time and latency (s) here, one a line",
    )
    args = parser.parse_args()
    deltas = int(args.mb * 1_000_000 / args.delta_chars)
    delay = args.delta_chars / (args.rate * 1000) if args.rate else 0.0
    runs: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="lmtui-huge-") as tmp,
        fake_server(deltas, args.delta_chars, delay) as (url, news),
    ):
        for run in range(args.runs):
            runs.append(one_run(url, news, Path(tmp) / f"run{run}", args.key_every))

    def figures(name: str) -> list[float]:
        return [float(r[name]) for r in runs]  # type: ignore[arg-type]

    keys = [k for r in runs for k in r["keys"]]  # type: ignore[attr-defined]
    if args.keys_log:
        sent = [t for r in runs for t in r["sent_at"]]  # type: ignore[attr-defined]
        lines = (f"{t:.4f} {k:.4f}\n" for t, k in zip(sent, keys, strict=True))
        args.keys_log.write_text("".join(lines))
    after = [k for r in runs for k in r["after"]]  # type: ignore[attr-defined]
    chars = deltas * args.delta_chars
    pace = f"paced at {args.rate:g} kB/s" if args.rate else "as fast as the app reads"
    print(
        f"reply: {chars / 1e6:.1f} MB in {deltas} deltas of {args.delta_chars} characters, {pace}"
    )
    last = figures("last_delta_s")
    print(
        f"last delta → rendered:      median {statistics.median(last):.2f} s"
        f"  ({', '.join(f'{x:.2f}' for x in last)})  (goal ≤ 1 s)"
    )
    enter = figures("enter_s")
    print(f"Enter → rendered:           median {statistics.median(enter):.2f} s")
    server = figures("server_s")
    print(f"Enter → server done:        median {statistics.median(server):.2f} s")
    if keys:
        ms = sorted(k * 1000 for k in keys)
        print(
            f"keystroke → visible while streaming: median {statistics.median(ms):.0f} ms, "
            f"90th pct {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms "
            f"over {len(ms)} keys, {sum(1 for k in ms if k > 50)} over 50 ms (goal ≤ 50 ms)"
        )
    else:
        print("keystroke → visible while streaming: no key shown before the end")
    if after:
        ms = sorted(k * 1000 for k in after)
        print(f"keystroke → visible just after:      max {ms[-1]:.0f} ms over {len(ms)} keys")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
