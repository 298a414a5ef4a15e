"""End-to-end speed of the terminal app, in a real terminal (tmux), against the fake server.

What it measures (see benchmarks/README.md, "Stream TUI"):

- stream: Enter pressed → the reply's last text visible on screen, for a long Markdown
  reply; against a bare httpx-sse client reading the same stream, alternated, median of
  N runs. Two ratios: to the bare client's whole process (interpreter start and imports
  included: flattering), and to the bare client's own streaming time (its request → last
  byte, timed inside it with ``perf_counter``; the issue-19 row, goal ≤ 2.0). The fake
  server prints the moment each request arrives (``--announce``), so the app's own time
  is also split into Enter → request (tmux delivering the key, the app handling it and
  starting the request) and request → last text on screen;
- keystroke latency while a reply streams: a character typed into the prompt box → visible;
- startup: ``lmtui --base-url URL --model M`` launched → the model id on screen;
- RSS of the app after streaming (VmRSS from /proc).

Run: ``.venv/bin/python benchmarks/stream_tui.py [--deltas 4000] [--runs 3]``.
Needs tmux. Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tmux_pane import Pane

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LMTUI = ROOT / ".venv" / "bin" / "lmtui"
SESSION = "lmtui-bench"
XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
# Passed into the tmux pane (whose server may have been started with another
# environment), so the app is this checkout's lmtui with its bytecode cached.
PASS_ON = ("PYTHONPATH", "PYTHONPYCACHEPREFIX")
UNSET = "-u PYTHONDONTWRITEBYTECODE -u PYTHONUNBUFFERED"


def passed_on() -> str:
    """``NAME=value`` for the variables of :data:`PASS_ON` that are set."""
    return " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in PASS_ON if k in os.environ)


POLL_S = 0.005
# From the model id on screen to typing the prompt (see one_tui_run).
TYPING_S = 1.0

BARE_CLIENT = """
import sys, time, httpx
from httpx_sse import connect_sse
url, model = sys.argv[1], sys.argv[2]
body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "go"}]}
n = 0
path = url + "/v1/chat/completions"
with httpx.Client(timeout=60) as c:
    started = time.perf_counter()  # the request: imports and the client's set-up excluded
    with connect_sse(c, "POST", path, json=body) as es:
        for sse in es.iter_sse():
            if sse.data == "[DONE]":
                break
            n += 1
    took = time.perf_counter() - started
print(n, took)
"""


PANE = Pane(SESSION)
tmux, screen = PANE.tmux, PANE.screen


def wait_for(predicate: Callable[[str], bool], timeout: float) -> float | None:
    """Poll the pane every ``POLL_S`` until ``predicate(text)``; when it became true."""
    return PANE.wait_for(predicate, timeout, POLL_S)


class Arrivals:
    """When the fake server saw each chat request (its ``--announce`` lines, monotonic)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()

    def read(self, lines: IO[str]) -> None:
        """Collect the announced chat requests until the server's stdout closes."""
        for line in lines:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "request" and parts[2].endswith("/chat/completions"):
                with self._lock:
                    self.times.append(float(parts[3]))

    def first_after(self, moment: float, timeout: float = 5.0) -> float | None:
        """The first chat request that arrived after ``moment``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                later = [t for t in self.times if t >= moment]
            if later:
                return min(later)
            time.sleep(POLL_S)
        return None


@contextmanager
def fake_server(
    deltas: int, delay_s: float = 0.0, *, looping: bool = False
) -> Iterator[tuple[str, Arrivals]]:
    """Start tests/fake_server.py as a process; yield its base URL and its request arrivals.

    ``looping``: the reply is one short document repeated, which the app flags as a loop
    (a warning toast mid-reply); by default each copy is numbered, as real text never loops.
    """
    cmd = [str(PYTHON), str(ROOT / "tests" / "fake_server.py"), "--markdown", "--announce"]
    cmd += ["--deltas", str(deltas)]
    if not looping:
        cmd.append("--numbered")
    if delay_s:
        cmd += ["--delay", str(delay_s)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    arrivals = Arrivals()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        threading.Thread(target=arrivals.read, args=(proc.stdout,), daemon=True).start()
        yield url, arrivals
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def bare_client_seconds(base_url: str, model: str) -> tuple[float, float]:
    """Time a bare httpx-sse consumer: its whole process, and its own request → last byte."""
    started = time.monotonic()
    done = subprocess.run(
        [str(PYTHON), "-c", BARE_CLIENT, base_url, model],
        check=True,
        capture_output=True,
        text=True,
    )
    whole = time.monotonic() - started
    return whole, float(done.stdout.split()[1])


@contextmanager
def app_in_tmux(base_url: str, model: str, home: Path) -> Iterator[float]:
    """Start lmtui in a 120×40 tmux pane; yield the launch time."""
    env = " ".join(
        f"{k}={shlex.quote(str(home / k.lower()))}"
        for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    )
    command = (
        f"env {UNSET} {passed_on()} {env} TERM=xterm-256color {LMTUI} "
        f"--base-url {base_url} --model {model}"
    )
    tmux("kill-session", "-t", SESSION)
    started = time.monotonic()
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    try:
        yield started
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")
        time.sleep(0.3)
        tmux("kill-session", "-t", SESSION)


def app_pid() -> int | None:
    """The process id of the app in the pane."""
    out = tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip()
    return int(out) if out.isdigit() else None


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


FOOTER = "finish: stop"


def reply_done(text: str) -> bool:
    """The reply's footer is on screen (its text may still be being drawn)."""
    return FOOTER in text


# Lines of the reply's end compared: the blank lines between blocks higher up may differ
# by one from run to run (where the stream's chunks were cut; see docs/rendering.md).
END_LINES = 12
PANE_COLUMNS = 120
SCROLL_BAR = "▁▂▃▄▅▆▇█▔"  # the chat pane's scroll bar thumb, at the right of its rows


def chat_above_footer(text: str) -> list[str] | None:
    """The chat column's last lines above the reply's footer; None without a footer.

    The sidebar (left of the first ``▕``) is left out: its model list may still change;
    so are the scroll bar (its thumb moves as the reply's height settles) and trailing
    blanks.
    """
    lines = [line[: PANE_COLUMNS - 1] for line in text.splitlines()]
    at = next((i for i, line in enumerate(lines) if FOOTER in line), None)
    if at is None:
        return None
    column = [(line.split("▕", 1)[1] if "▕" in line else line) for line in lines[:at]]
    column = [line.rstrip().rstrip(SCROLL_BAR).rstrip() for line in column]
    return column[-END_LINES:]


def settled_reply(base_url: str, model: str, home: Path) -> list[str]:
    """One untimed reply: the chat column above its footer once drawn to the end.

    The timed runs wait for exactly this: the footer alone can be painted before the
    reply's last text (it was, from session 4 to 6), so it does not prove the text is shown.
    """
    with app_in_tmux(base_url, model, home):
        if wait_for(lambda s: f"model: {model}" in s, 15) is None:
            raise RuntimeError("the app did not show the model id:\n" + screen())
        time.sleep(0.3)
        tmux("send-keys", "-t", SESSION, "-l", "go")
        wait_for(lambda s: "go" in s, 5)
        tmux("send-keys", "-t", SESSION, "Enter")
        if wait_for(reply_done, 120) is None:
            raise RuntimeError("the reply never finished on screen:\n" + screen())
        time.sleep(1.5)  # every chunk drawn, the height settled
        region = chat_above_footer(screen())
    assert region is not None
    return region


def one_tui_run(
    base_url: str, model: str, home: Path, arrivals: Arrivals, target: list[str] | None = None
) -> dict[str, float]:
    """Start the app, stream one reply, measure; return the figures of this run.

    ``target``: the chat column above the footer when the reply is fully drawn (see
    :func:`settled_reply`); the run ends when the screen shows it. Without it, at the
    footer (what this script did before session 6).
    """
    out: dict[str, float] = {}
    with app_in_tmux(base_url, model, home) as launched:
        seen = wait_for(lambda s: f"model: {model}" in s, 15)
        if seen is None:
            raise RuntimeError("the app did not show the model id:\n" + screen())
        out["startup_s"] = seen - launched
        # The model list arrives, and the renderer's warm-up thread (0.25 s after the first
        # frame, ~130 ms of imports) ends: typing a prompt takes a user longer than this.
        # At 0.3 s the warm-up still ran at Enter in some runs, ~15 ms later each
        # (benchmarks/README.md, "TUI ÷ wire", session 7); startup has its own row.
        time.sleep(TYPING_S)
        tmux("send-keys", "-t", SESSION, "-l", "go")
        wait_for(lambda s: "go" in s, 5)
        pressed = time.monotonic()
        tmux("send-keys", "-t", SESSION, "Enter")
        footer_at: list[float] = []  # when the footer was first on screen

        def ended(text: str) -> bool:
            if not footer_at and reply_done(text):
                footer_at.append(time.monotonic())
            # One capture looks for both: the footer, and the settled end above it.
            return bool(footer_at) and (target is None or chat_above_footer(text) == target)

        done = wait_for(ended, 60)
        if done is None:
            raise RuntimeError(
                "the reply never finished on screen:\n"
                + "\n".join(target or [])
                + "\n---- on screen:\n"
                + screen()
            )
        footer = footer_at[0]
        out["stream_s"] = done - pressed
        out["footer_s"] = footer - pressed
        request = arrivals.first_after(pressed)
        if request is not None:
            out["enter_to_request_s"] = request - pressed
        pid = app_pid()
        rss = rss_mb(pid) if pid else None
        if rss is not None:
            out["rss_mb"] = rss
    return out


def keystroke_latency(base_url: str, model: str, home: Path, samples: int = 5) -> list[float]:
    """Type characters into the prompt box while a slow reply streams; time until visible."""
    times: list[float] = []
    with app_in_tmux(base_url, model, home):
        if wait_for(lambda s: f"model: {model}" in s, 15) is None:
            raise RuntimeError("the app did not start:\n" + screen())
        time.sleep(0.3)
        tmux("send-keys", "-t", SESSION, "-l", "go")
        tmux("send-keys", "-t", SESSION, "Enter")
        if wait_for(lambda s: "streaming" in s, 10) is None:
            raise RuntimeError("no reply started:\n" + screen())
        typed = "zq"  # an unlikely pair, so what is looked for appears only in the prompt box
        tmux("send-keys", "-t", SESSION, "-l", typed)
        wait_for(lambda s: typed in s, 5)
        for ch in "xjvkw"[:samples]:
            typed += ch
            sent = time.monotonic()
            tmux("send-keys", "-t", SESSION, "-l", ch)
            target = typed
            shown = wait_for(lambda s, t=target: t in s, 5)  # type: ignore[misc]
            if shown is not None:
                times.append(shown - sent)
            time.sleep(0.1)
    return times


OPEN_APP = """
import sys
from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
LmtuiApp(Config(base_url=sys.argv[1], model=sys.argv[2]), conversation_id=int(sys.argv[3])).run()
"""


def open_long_conversation(base_url: str, model: str, home: Path, count: int = 2000) -> float:
    """Import a ``count``-message conversation, open it in the app; seconds until shown."""
    lines = []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Message {i}: " + ("some **markdown** text, " * 6)
        lines.append({"role": role, "content": text})
    lines[-1]["content"] = "The very LAST-MESSAGE-MARK of the chat."
    source = home / "long.jsonl"

    source.write_text(json.dumps({"title": "long", "messages": lines}) + "\n")
    env = {**os.environ, **{k: str(home / k.lower()) for k in XDG}}
    subprocess.run([str(LMTUI), "history", "import", str(source)], env=env, check=True)
    listing = subprocess.run(
        [str(LMTUI), "history", "list", "--json"], env=env, check=True, capture_output=True
    )
    conv_id = max(c["id"] for c in json.loads(listing.stdout)["conversations"])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k in XDG)
    command = (
        f"env {UNSET} {passed_on()} {exports} {PYTHON} -c {shlex.quote(OPEN_APP)} "
        f"{base_url} {model} {conv_id}"
    )
    tmux("kill-session", "-t", SESSION)
    started = time.monotonic()
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    try:
        shown = wait_for(lambda s: "LAST-MESSAGE-MARK" in s, 30)
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")
        time.sleep(0.3)
        tmux("kill-session", "-t", SESSION)
    if shown is None:
        raise RuntimeError("the long conversation never showed")
    return shown - started


def tmux_roundtrip() -> float:
    """How long one look at the pane takes, as the runs look (the floor of every timing)."""
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "sleep 10")
    try:
        screen()  # attaches the control-mode client
        started = time.monotonic()
        for _ in range(20):
            screen()
        return (time.monotonic() - started) / 20
    finally:
        PANE.close()
        tmux("kill-session", "-t", SESSION)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="qwen2.5-7b-instruct")
    parser.add_argument(
        "--stream-only", action="store_true", help="only the stream figures (no keys, no open)"
    )
    parser.add_argument(
        "--looping", action="store_true", help="the reply repeats one document (flagged as a loop)"
    )
    parser.add_argument(
        "--at-footer",
        action="store_true",
        help="stop each run at the footer, as before session 6 (the text may not be drawn yet)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lmtui-bench-") as tmp:
        home = Path(tmp)
        with fake_server(args.deltas, looping=args.looping) as (base_url, arrivals):
            target = None
            if not args.at_footer:
                target = settled_reply(base_url, args.model, home / "settle")
            tui: list[dict[str, float]] = []
            bare: list[float] = []
            wire: list[float] = []
            for run in range(args.runs):
                whole, own = bare_client_seconds(base_url, args.model)
                bare.append(whole)
                wire.append(own)
                # A fresh history each run: the app reopens the last conversation, whose
                # finished reply would already be on screen.
                tui.append(one_tui_run(base_url, args.model, home / f"run{run}", arrivals, target))
        keys: list[float] = []
        long_open: float | None = None
        # A reply of ~100 deltas/s for 20 s, to type into while it streams.
        with fake_server(2000, delay_s=0.01) as (slow_url, _):
            if not args.stream_only:
                keys = keystroke_latency(slow_url, args.model, home)
                long_open = open_long_conversation(slow_url, args.model, home)
    floor = tmux_roundtrip()
    stream = statistics.median(r["stream_s"] for r in tui)
    bare_s = statistics.median(bare)
    startup = statistics.median(r["startup_s"] for r in tui)
    rss = max((r.get("rss_mb", 0.0) for r in tui), default=0.0)
    print(f"deltas per reply:          {args.deltas}")
    print(
        f"bare httpx-sse process:    median {bare_s:.3f} s  ({', '.join(f'{b:.3f}' for b in bare)})"
    )
    wire_s = statistics.median(wire)
    print(
        f"bare client's own stream:  median {wire_s:.3f} s  ({', '.join(f'{w:.3f}' for w in wire)})"
        "  (request → last byte, inside the process)"
    )
    runs = ", ".join(f"{r['stream_s']:.3f}" for r in tui)
    print(f"lmtui Enter → last text:   median {stream:.3f} s  ({runs})")
    footers = ", ".join(f"{r['footer_s']:.3f}" for r in tui)
    footer_s = statistics.median(r["footer_s"] for r in tui)
    print(f"lmtui Enter → footer:      median {footer_s:.3f} s  ({footers})")
    to_request = [r["enter_to_request_s"] for r in tui if "enter_to_request_s" in r]
    if to_request:
        key_s = statistics.median(to_request)
        print(
            f"lmtui Enter → request:     median {key_s:.3f} s"
            "  (tmux key → the server sees the request)"
        )
        after = statistics.median(
            r["stream_s"] - r["enter_to_request_s"] for r in tui if "enter_to_request_s" in r
        )
        print(f"lmtui request → last text: median {after:.3f} s")
    print(f"ratio lmtui / bare process: {stream / bare_s:.2f}  (process start included: flatters)")
    print(
        f"ratio lmtui / the wire:    {stream / wire_s:.2f}"
        "  (Enter → last text ÷ the bare client's own stream; goal ≤ 2.0)"
    )
    if to_request:
        print(f"ratio after the request:   {after / wire_s:.2f}  (request → last text ÷ the same)")
    print(f"startup → model id shown:  median {startup:.3f} s  (goal ≤ 1 s)")
    if keys:
        print(
            f"keystroke → visible while streaming: median {statistics.median(keys) * 1000:.0f} ms, "
            f"max {max(keys) * 1000:.0f} ms over {len(keys)} keys (goal ≤ 50 ms)"
        )
    print(f"RSS after streaming:       {rss:.0f} MB  (goal ≤ 250 MB)")
    if long_open is not None:
        print(f"open a 2,000-message chat: {long_open:.3f} s from launch to its last message shown")
    print(f"tmux capture-pane cost:    {floor * 1000:.2f} ms per poll (included in every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
