"""Bytes written to the terminal per streamed character, in a real terminal (tmux).

Over SSH every byte the app writes crosses the link, so this is what decides how
usable lmtui is on a slow connection. The method (see benchmarks/README.md,
"Bandwidth"):

1. start the project's fake server (``tests/fake_server.py --markdown --deltas N``);
2. read the same reply once with a bare httpx-sse client to count its characters;
3. run ``lmtui --base-url URL --model M`` in a 120×40 tmux pane (private tmux
   socket, throw-away XDG directories) and wait until it has drawn its screen;
4. ``tmux pipe-pane -o 'cat >> FILE'`` to record everything the app writes from
   now on, type a prompt, press Enter, wait for the reply's end marker and then
   for the screen to stop changing, stop the recording;
5. report bytes in FILE / characters of the reply (issue 19's goal: ≤ 15 at 100 deltas/s).

Run: ``.venv/bin/python benchmarks/terminal_bytes.py [--deltas 1000] [--runs 3]
[--delay 0.01] [--size 80x24] [--theme lmtui-ansi] [--config-line 'compact_output = false']``.
Needs tmux. Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tmux_pane import Pane

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LMTUI = ROOT / ".venv" / "bin" / "lmtui"
SOCKET = f"lmtui-bytes-{os.getpid()}"  # a private tmux server: nobody else's sessions
SESSION = "bytes"
WIDTH, HEIGHT = 120, 40  # --size changes them
GOAL = 15.0
# Words of the fake's Markdown reply; any screenful of it shows some of them.
REPLY_WORDS = ("Highlights", "Release notes", "greet", "quote", "Nested items", "value")
IDLE_S = 2.0
PROMPT = "bandwidth probe"  # seconds of idle output measured before each prompt

COUNT_CHARS = """
import json, sys, httpx
from httpx_sse import connect_sse
url, model = sys.argv[1], sys.argv[2]
body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "go"}]}
chars = 0
with httpx.Client(timeout=60) as c:
    with connect_sse(c, "POST", url + "/v1/chat/completions", json=body) as es:
        for sse in es.iter_sse():
            if sse.data == "[DONE]":
                break
            for choice in json.loads(sse.data).get("choices") or []:
                chars += len((choice.get("delta") or {}).get("content") or "")
print(chars)
"""


PANE = Pane(SESSION, SOCKET)
tmux, screen = PANE.tmux, PANE.screen
wait_for = functools.partial(PANE.wait_for, poll=0.02)


def wait_stable(quiet: float, timeout: float, file: Path | None = None) -> bool:
    """Wait until neither the screen nor the recorded file has changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last = (screen(), file.stat().st_size if file and file.exists() else 0)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = (screen(), file.stat().st_size if file and file.exists() else 0)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


@contextmanager
def fake_server(deltas: int, delay: float) -> Iterator[tuple[str, str]]:
    """Start tests/fake_server.py; yield (base URL, the reply's end marker if it names one)."""
    cmd = [str(PYTHON), str(ROOT / "tests" / "fake_server.py"), "--markdown"]
    cmd += ["--deltas", str(deltas), "--delay", str(delay)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        if not first or not first[0].startswith("http"):
            raise SystemExit(f"the fake server did not print its URL (got {first!r})")
        marker = ""  # the fake prints none today; the screen settling ends the reply
        for word in first[1:]:
            if word.startswith("marker="):
                marker = word.split("=", 1)[1]
        yield first[0], marker
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def reply_chars(base_url: str, model: str) -> int:
    """Characters of content in one streamed reply, read by a bare client."""
    done = subprocess.run(
        [str(PYTHON), "-c", COUNT_CHARS, base_url, model],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip())


@contextmanager
def app_in_tmux(base_url: str, model: str, home: Path, term: str, colorterm: str) -> Iterator[None]:
    """Run lmtui in a WIDTH×HEIGHT pane of the private tmux server."""
    env = {k: str(home / k.lower()) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}
    env["TERM"] = term
    env["COLORTERM"] = colorterm  # set either way, so the caller's terminal does not leak in
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    unset = "-u NO_COLOR -u TEXTUAL_COLOR_SYSTEM -u LMTUI_CONFIG"
    command = (
        f"env {unset} {assignments} {shlex.quote(str(LMTUI))} --base-url {base_url} --model {model}"
    )
    tmux("-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT))
    tmux("set-option", "-t", SESSION, "remain-on-exit", "on")  # keep a crash on screen
    tmux("respawn-pane", "-k", "-t", SESSION, command)
    try:
        yield
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")
        time.sleep(0.3)
        socket_path = tmux("display-message", "-p", "#{socket_path}").strip()
        tmux("kill-server")
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)


@dataclass(frozen=True)
class Run:
    """What one streamed reply cost on the wire."""

    bytes: int  # written from Enter until the screen settled
    seconds: float  # how long that recording ran
    idle_per_second: float  # written per second by the idle app (cursor blink, clocks)

    @property
    def net_bytes(self) -> float:
        """Bytes minus what the app would have written idling for as long."""
        return max(0.0, self.bytes - self.idle_per_second * self.seconds)


def record(path: Path) -> None:
    """Append everything the pane's program writes to ``path``."""
    tmux("pipe-pane", "-o", "-t", SESSION, f"cat >> {shlex.quote(str(path))}")


def stop_recording() -> None:
    """Close the pane's pipe (and give cat a moment to flush)."""
    tmux("pipe-pane", "-t", SESSION)
    time.sleep(0.1)


def one_run(
    base_url: str, model: str, marker: str, args: argparse.Namespace, keep: Path | None
) -> Run:
    """Stream one reply in the app; return the bytes it wrote to the terminal meanwhile."""
    with tempfile.TemporaryDirectory(prefix="lmtui-bytes-") as tmp:
        home = Path(tmp)
        lines = [f"theme = {json.dumps(args.theme)}"] if args.theme else []
        lines += args.config_line
        if lines:
            config = home / "xdg_config_home" / "lmtui" / "config.toml"
            config.parent.mkdir(parents=True)
            config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        idle, stream = home / "idle.bytes", home / "stream.bytes"
        colorterm = "truecolor" if args.truecolor else ""
        with app_in_tmux(base_url, model, home, args.term, colorterm):
            if not wait_for(lambda s: model in s, 20):
                raise SystemExit("the app did not open a chat with the model:\n" + screen())
            wait_stable(0.5, 10)  # the model list and first paint land before recording
            record(idle)
            time.sleep(IDLE_S)
            stop_recording()
            record(stream)
            started = time.monotonic()
            tmux("send-keys", "-t", SESSION, "-l", PROMPT)
            if not wait_for(lambda s: PROMPT in s, 5):
                raise SystemExit("the prompt box did not take the prompt:\n" + screen())
            tmux("send-keys", "-t", SESSION, "Enter")
            if not wait_for(lambda s: any(word in s for word in REPLY_WORDS), 20):
                raise SystemExit("the reply never showed up:\n" + screen())
            if marker and not wait_for(lambda s: marker in s, 120):
                raise SystemExit("the reply's end marker never showed:\n" + screen())
            # The end: the screen has not changed for a while (this also waits for the
            # final Markdown render after the last delta).
            if not wait_stable(1.5, 120):
                raise SystemExit("the screen never settled:\n" + screen())
            stop_recording()
            seconds = time.monotonic() - started
        if keep is not None:
            shutil.copyfile(stream, keep)
        idle_bytes = idle.stat().st_size if idle.exists() else 0
        return Run(stream.stat().st_size if stream.exists() else 0, seconds, idle_bytes / IDLE_S)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds between deltas (0: as fast as possible)"
    )
    parser.add_argument("--model", default="qwen2.5-7b-instruct", help="a model the fake knows")
    parser.add_argument("--theme", default=None, help="theme to run with (config.toml)")
    parser.add_argument(
        "--config-line",
        action="append",
        default=[],
        help="a line for config.toml, e.g. 'compact_output = false' (repeatable)",
    )
    parser.add_argument("--size", default="120x40", help="the pane, COLUMNSxROWS")
    parser.add_argument("--term", default="xterm-256color", help="TERM inside the pane")
    parser.add_argument("--truecolor", action="store_true", help="COLORTERM=truecolor")
    parser.add_argument("--keep", type=Path, help="save the last run's raw bytes to this file")
    args = parser.parse_args()
    global WIDTH, HEIGHT
    WIDTH, HEIGHT = (int(part) for part in args.size.split("x"))
    if not LMTUI.exists():
        raise SystemExit(f"{LMTUI} is missing: install the project first (make install)")
    with fake_server(args.deltas, args.delay) as (base_url, marker):
        chars = reply_chars(base_url, args.model)
        runs = [one_run(base_url, args.model, marker, args, args.keep) for _ in range(args.runs)]
    size = statistics.median(run.bytes for run in runs)
    net = statistics.median(run.net_bytes for run in runs)
    idle = statistics.median(run.idle_per_second for run in runs)
    pace = f"{1 / args.delay:.0f} deltas/s" if args.delay else "as fast as possible"
    print(
        f"reply: {args.deltas} deltas ({pace}), {chars} characters of Markdown; "
        f"pane {WIDTH}x{HEIGHT}"
    )
    colours = "COLORTERM=truecolor" if args.truecolor else "no COLORTERM"
    print(f"theme: {args.theme or 'default'}, TERM={args.term}, {colours}, runs: {args.runs}")
    print(
        f"bytes from Enter to settled screen: median {size:.0f}  "
        f"({', '.join(str(run.bytes) for run in runs)})"
    )
    print(f"idle app writes: {idle:.0f} bytes/s; net of idle: median {net:.0f}")
    print(
        f"bytes per streamed character: {size / chars:.2f} ({net / chars:.2f} net of idle)"
        f"  (goal <= {GOAL:.0f})"
    )
    print(f"on a 1 Mbit/s link: {size * 8 / 1_000_000:.2f} s of transfer for this reply")
    return 0 if size / chars <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
