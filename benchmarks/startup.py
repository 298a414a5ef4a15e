"""A lean start (issue 19): the app's startup, and ``history search`` against ``--version``.

What it measures (see benchmarks/README.md, "Startup"):

- startup: ``lmtui --base-url URL --model M`` launched in a 120×40 tmux pane → the model
  id on screen, against ``tests/fake_server.py`` (as ``stream_tui.py``'s startup line);
  with ``--hung-server`` also against a named server that takes connections and never
  answers (the launch's probe then waits its whole 0.5 s; a remote server's round trip
  is the same kind of wait, shorter); with ``--from-server`` also without ``--model``:
  until the model the app chose from
  the server's list is shown; with ``--reopen`` also with a conversation to open at start
  (``--open ID``: the same work as reopening the last one), a prompt and the fake
  server's 4,000-delta Markdown reply (16 kB: code blocks, tables), as after a run of
  ``stream_tui.py``, whose later startups reopen its conversation;
- with ``--history DIR`` (a history built by ``history_scale.py --keep DIR``): the same
  startup with that history, and ``lmtui history search RARE --json --limit 0`` minus
  ``lmtui --version``, whole processes, wall and CPU time;
- ``--imports``: what the start imports (``python -X importtime`` on a headless start
  to the first frame), grouped by package, largest first, and which heavy modules it
  loaded.

With ``--today DIR`` every figure is also measured for the code in DIR (``PYTHONPATH``;
e.g. the main branch's checkout), alternating run by run. Bytecode is cached (each tree
gets its own ``PYTHONPYCACHEPREFIX``), as for a user. Medians; the load average is printed.

    .venv/bin/python benchmarks/startup.py [--runs 7] [--today /work/main]
        [--history DIR] [--imports]

Needs tmux. Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL = "bench-model"
RARE_WORD = "zyzzogeton"  # history_scale.py's rare word
SOCKET = "lmtui-startup-bench"  # a private tmux server
SESSION = "start"
XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
# Modules the start must not need (tests/test_lean_start.py keeps them out).
HEAVY = ("markdown_it", "pygments", "rich.markdown", "rich.syntax", "numpy", "jsonschema")

# A headless start to the first frame, for -X importtime: the same path as `lmtui`.
# Garbage collection off, so no collection's pause is counted as some module's import.
HEADLESS_START = """
import gc, sys
gc.disable()
from contextlib import ExitStack
from lmtui.cli import build_parser
from lmtui.cli.common import load_effective_config
from lmtui.ui.launch import build_app, plan_launch
args = build_parser().parse_args(["--base-url", sys.argv[1], "--model", sys.argv[2]])
cfg = load_effective_config(args)
with ExitStack() as stack:
    app = build_app(args, cfg, plan_launch(args, cfg, stack))
    async def first_frame(pilot):
        print(",".join(sorted(m for m in sys.modules)))
        pilot.app.exit()
    app.run(headless=True, auto_pilot=first_frame, size=(120, 40))
"""


@dataclass(frozen=True)
class Tree:
    """A checkout whose code is measured: a label and its path."""

    label: str
    path: Path

    def env(self, home: Path, data: Path | None = None, tag: str = "") -> dict[str, str]:
        """A user's environment for this tree: bytecode cached, throw-away XDG dirs.

        ``tag`` keeps one measurement's config and state apart from another's (the
        conversation open at the end of one run is reopened by the next).
        """
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPATH")
        }
        env["PYTHONPATH"] = str(self.path)
        env["PYTHONPYCACHEPREFIX"] = str(home / f"pycache-{self.label}")
        for name in XDG:
            env[name] = str(home / self.label / (tag or "plain") / name.lower())
        if data is not None:
            env["XDG_DATA_HOME"] = str(data)
        env["TERM"] = "xterm-256color"
        return env


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    """One command to the private tmux server."""
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False
    )


# The status line's model field once it names one.
MODEL_SHOWN = re.compile(r"model: [\w./:-]")


def startup_once(
    url: str,
    env: dict[str, str],
    *,
    pick: bool = False,
    open_id: int | None = None,
    timeout: float = 30.0,
) -> float:
    """Launch the app in a 120×40 pane; seconds until the model id is on screen.

    ``pick``: no ``--model``; the app chooses one from the server's list. ``open_id``:
    a conversation to open (``--open``).
    """
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    model = [] if pick else ["--model", MODEL]
    if open_id is not None:
        model += ["--open", str(open_id)]
    app = shlex.join([str(PYTHON), "-m", "lmtui", "--base-url", url, *model])
    command = f"cd {shlex.quote(env['PYTHONPATH'])} && env -i {exports} {app}"
    tmux("kill-session", "-t", SESSION)
    pane = ""
    started = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    try:
        while time.perf_counter() - started < timeout:
            pane = tmux("capture-pane", "-p", "-t", SESSION).stdout
            if MODEL_SHOWN.search(pane):
                return time.perf_counter() - started
            time.sleep(0.005)
        raise SystemExit(f"the app never showed the model id; last screen:\n{pane}")
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")  # quit as a user does: history closed
        quit_by = time.perf_counter() + 5
        while time.perf_counter() < quit_by and tmux("has-session", "-t", SESSION).returncode == 0:
            time.sleep(0.05)
        tmux("kill-session", "-t", SESSION)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run a whole process; (wall seconds, CPU seconds, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return wall, cpu, done.stdout


@contextmanager
def hung_server() -> Iterator[str]:
    """A port that takes connections (the kernel's backlog) and never answers; its URL."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def fake_server() -> Iterator[str]:
    """tests/fake_server.py as a process; yields its base URL."""
    proc = subprocess.Popen(
        [str(PYTHON), str(ROOT / "tests" / "fake_server.py")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def med_ms(values: list[float]) -> str:
    """``values`` (seconds) as a median in ms, with the spread."""
    low, high = min(values) * 1000, max(values) * 1000
    return f"{statistics.median(values) * 1000:.0f} ms ({low:.0f}–{high:.0f})"


def measure_startup(
    trees: list[Tree],
    url: str,
    home: Path,
    runs: int,
    data: Path | None,
    *,
    pick: bool = False,
    open_ids: dict[str, int] | None = None,
) -> dict[str, list[float]]:
    """Startup seconds per tree, alternating, after one warm-up launch of each."""
    times: dict[str, list[float]] = {t.label: [] for t in trees}
    ids = open_ids or {}
    tag = "open" if open_ids else "pick" if pick else "history" if data else "plain"
    for round_ in range(runs + 1):
        for tree in trees:
            env = tree.env(home, data, tag)
            took = startup_once(url, env, pick=pick, open_id=ids.get(tree.label))
            if round_:  # the first round warms the bytecode and the page cache
                times[tree.label].append(took)
    return times


def import_markdown_conversation(tree: Tree, home: Path) -> int:
    """Store a prompt and the fake server's 4,000-delta Markdown reply; return its id."""
    sys.path.insert(0, str(ROOT))
    from tests.fake_server import markdown_deltas

    reply = "".join(markdown_deltas(4000))
    source = home / "markdown-chat.jsonl"
    messages = [{"role": "user", "content": "go"}, {"role": "assistant", "content": reply}]
    source.write_text(json.dumps({"title": "go", "messages": messages}) + "\n")
    env = tree.env(home, tag="open")
    cmd = [str(PYTHON), "-m", "lmtui", "history"]
    timed([*cmd, "import", str(source)], env, tree.path)
    _, _, listing = timed([*cmd, "list", "--json"], env, tree.path)
    return max(int(c["id"]) for c in json.loads(listing)["conversations"])


def measure_search(
    trees: list[Tree], home: Path, runs: int, data: Path
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of ``history search`` and ``--version`` per tree, alternating."""
    out: dict[str, dict[str, list[float]]] = {t.label: defaultdict(list) for t in trees}
    search = ["history", "search", RARE_WORD, "--json", "--limit", "0"]
    for round_ in range(runs + 1):
        for tree in trees:
            env = tree.env(home, data, "search")
            cmd = [str(PYTHON), "-m", "lmtui"]
            v_wall, v_cpu, _ = timed([*cmd, "--version"], env, tree.path)
            s_wall, s_cpu, text = timed([*cmd, *search], env, tree.path)
            hits = len(json.loads(text)["hits"])
            if round_ == 0:  # warm-up: page cache and bytecode
                print(f"  {tree.label}: search found {hits} conversations")
                continue
            for key, value in (
                ("version", v_wall),
                ("search", s_wall),
                ("version_cpu", v_cpu),
                ("search_cpu", s_cpu),
            ):
                out[tree.label][key].append(value)
    return out


def import_costs(tree: Tree, url: str, home: Path) -> tuple[list[tuple[str, float]], float, str]:
    """Self import time by package for a headless start to the first frame.

    Returns the groups (package, or lmtui module) with their ms, largest first; the
    total ms; and the modules loaded when the first frame was drawn.
    """
    env = tree.env(home)
    done = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", HEADLESS_START, url, MODEL],
        env=env,
        cwd=tree.path,
        capture_output=True,
        text=True,
        check=True,
    )
    groups: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if not found:
            continue
        name = found.group(2)
        parts = name.split(".")
        group = ".".join(parts[:3]) if parts[0] == "lmtui" else parts[0]
        groups[group] += int(found.group(1)) / 1000
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])
    modules = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return ranked, sum(groups.values()), modules


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--today", type=Path, metavar="DIR", help="also measure DIR's code")
    parser.add_argument("--no-today", action="store_true", help="only this checkout (default)")
    parser.add_argument(
        "--history", type=Path, metavar="DIR", help="a history built by history_scale.py --keep"
    )
    parser.add_argument("--imports", action="store_true", help="list the start's import costs")
    parser.add_argument("--no-startup", action="store_true", help="skip the tmux startup runs")
    parser.add_argument(
        "--from-server", action="store_true", help="also start without --model (the app picks)"
    )
    parser.add_argument(
        "--hung-server", action="store_true", help="also start against a server that never answers"
    )
    parser.add_argument(
        "--reopen", action="store_true", help="also start with a Markdown conversation to open"
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None and not args.no_startup:
        raise SystemExit("the startup benchmark needs tmux")
    trees = [Tree("now", ROOT)]
    if args.today is not None:
        trees.append(Tree("today", args.today.resolve()))
    data = None
    if args.history is not None:
        data = args.history.resolve() / "xdg_data_home"
        if not (data / "lmtui" / "history.sqlite3").is_file():
            raise SystemExit(f"no history in {args.history}: build it with history_scale.py --keep")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="lmtui-startup-bench-") as tmp, fake_server() as url:
        home = Path(tmp)
        try:
            if args.imports:
                for tree in trees:
                    ranked, total, modules = import_costs(tree, url, home)  # warm the bytecode
                    ranked, total, modules = import_costs(tree, url, home)
                    loaded = set(modules.split(","))
                    heavy = [m for m in HEAVY if m in loaded]
                    print(
                        f"[{tree.label}] imports to the first frame: {total:.0f} ms (self, summed)"
                    )
                    for name, ms in ranked[:15]:
                        print(f"    {ms:6.1f} ms  {name}")
                    print(f"    heavy modules loaded: {', '.join(heavy) or 'none'}")
            if not args.no_startup:
                times = measure_startup(trees, url, home, args.runs, None)
                for label, values in times.items():
                    print(f"[{label}] startup → model id shown: {med_ms(values)}")
                if args.reopen:
                    ids = {t.label: import_markdown_conversation(t, home) for t in trees}
                    times = measure_startup(trees, url, home, args.runs, None, open_ids=ids)
                    for label, values in times.items():
                        print(
                            f"[{label}] startup opening a 16 kB Markdown reply → model id "
                            f"shown: {med_ms(values)}"
                        )
                if args.hung_server:
                    with hung_server() as hung:
                        times = measure_startup(trees, hung, home, args.runs, None)
                    for label, values in times.items():
                        print(
                            f"[{label}] startup, the server never answering → model id shown: "
                            f"{med_ms(values)}"
                        )
                if args.from_server:
                    times = measure_startup(trees, url, home, args.runs, None, pick=True)
                    for label, values in times.items():
                        print(
                            f"[{label}] startup without --model → chosen model shown: "
                            f"{med_ms(values)}"
                        )
                if data is not None:
                    times = measure_startup(trees, url, home, args.runs, data)
                    for label, values in times.items():
                        print(f"[{label}] startup with the big history: {med_ms(values)}")
            if data is not None:
                found = measure_search(trees, home, args.runs, data)
                for label, f in found.items():
                    search, version = (
                        statistics.median(f["search"]),
                        statistics.median(f["version"]),
                    )
                    s_cpu, v_cpu = (statistics.median(f[k]) for k in ("search_cpu", "version_cpu"))
                    print(
                        f"[{label}] history search {search * 1000:.0f} ms, --version "
                        f"{version * 1000:.0f} ms: +{(search - version) * 1000:.0f} ms wall, "
                        f"+{(s_cpu - v_cpu) * 1000:.0f} ms CPU (goal ≤ +100 ms)"
                    )
        finally:
            tmux("kill-server")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
