"""How much slower is `lmtui ask` than a bare httpx-sse consumer?

Starts the project's fake server as a process streaming N small deltas as fast as
it can, then times whole processes, alternating:

- sync baseline: a bare Python process that streams the same request with httpx +
  httpx-sse (synchronous API), parses each chunk and writes the content to stdout;
- async baseline: the same with httpx.AsyncClient + aconnect_sse — the stack lmtui's
  async backend is built on, so it pays for asyncio the way lmtui does;
- lmtui: `lmtui ask --model M PROMPT` (history saving on, as a user runs it, in a
  throw-away data directory).

Prints the medians and the ratios; the goal (issue 19) is at most 1.25 against the sync
consumer. ``lmtui ask`` streams on its synchronous client, so it is compared like for like.

    .venv/bin/python benchmarks/headless_stream.py [--deltas 4000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fake_process import start_fake_server

ROOT = Path(__file__).resolve().parent.parent
LMTUI = [sys.executable, "-m", "lmtui"]

BASELINE = r"""
import json, sys, httpx
from httpx_sse import connect_sse
url = sys.argv[1]
body = {"model": "qwen2.5-7b-instruct", "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}
out = sys.stdout
with httpx.Client(timeout=60) as client:
    with connect_sse(client, "POST", url + "/v1/chat/completions", json=body) as es:
        for sse in es.iter_sse():
            if sse.data == "[DONE]":
                break
            chunk = json.loads(sse.data)
            choices = chunk.get("choices") or []
            if choices:
                text = choices[0].get("delta", {}).get("content")
                if text:
                    out.write(text)
                    out.flush()
"""


ASYNC_BASELINE = r"""
import asyncio, json, sys, httpx
from httpx_sse import aconnect_sse
url = sys.argv[1]
body = {"model": "qwen2.5-7b-instruct", "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}
out = sys.stdout
async def main():
    async with httpx.AsyncClient(timeout=60) as client:
        async with aconnect_sse(client, "POST", url + "/v1/chat/completions", json=body) as es:
            async for sse in es.aiter_sse():
                if sse.data == "[DONE]":
                    break
                chunk = json.loads(sse.data)
                choices = chunk.get("choices") or []
                if choices:
                    text = choices[0].get("delta", {}).get("content")
                    if text:
                        out.write(text)
                        out.flush()
asyncio.run(main())
"""


CPU: dict[str, list[float]] = {}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run a command to completion; return wall time and bytes written to stdout.

    Its CPU time (user + system, from the children's rusage) is kept in :data:`CPU`
    under the command's first distinctive argument: on a busy machine CPU time moves
    far less than wall time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(cmd[2] if cmd[1] == "-c" else "lmtui", []).append(cpu)
    return elapsed, len(done.stdout)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deltas", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    proc, url = start_fake_server("--deltas", str(args.deltas), "--delta-text", "abcd")
    tmp = tempfile.mkdtemp(prefix="lmtui-bench-")
    env = dict(os.environ)
    # Bytecode cached, as a user's installed lmtui runs: with it off every run compiles
    # lmtui's modules again (and the bare consumer has few to compile).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        XDG_CONFIG_HOME=f"{tmp}/config", XDG_DATA_HOME=f"{tmp}/data", XDG_STATE_HOME=f"{tmp}/state"
    )
    base_cmd = [sys.executable, "-c", BASELINE, url]
    async_cmd = [sys.executable, "-c", ASYNC_BASELINE, url]
    ask_cmd = [*LMTUI, "ask", "--base-url", url, "--model", "qwen2.5-7b-instruct", "hi"]
    try:
        # One warm-up each so disk caches are equal.
        timed(base_cmd, env)
        timed(async_cmd, env)
        timed(ask_cmd, env)
        base_times: list[float] = []
        async_times: list[float] = []
        ask_times: list[float] = []
        for _ in range(args.runs):
            t, base_bytes = timed(base_cmd, env)
            base_times.append(t)
            t, _ = timed(async_cmd, env)
            async_times.append(t)
            t, ask_bytes = timed(ask_cmd, env)
            ask_times.append(t)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    base = statistics.median(base_times)
    abase = statistics.median(async_times)
    ask = statistics.median(ask_times)
    print(f"deltas: {args.deltas}, runs: {args.runs} (alternating), medians:")
    print(f"  bare httpx-sse consumer (sync):  {base * 1000:7.1f} ms  ({base_bytes} bytes out)")
    print(f"  bare httpx-sse consumer (async): {abase * 1000:7.1f} ms")
    print(f"  lmtui ask:                       {ask * 1000:7.1f} ms  ({ask_bytes} bytes out)")
    print(f"  ratio to sync baseline:  {ask / base:.2f} (goal <= 1.25)")
    print(f"  ratio to async baseline: {ask / abase:.2f}")
    cpu_base = statistics.median(CPU[BASELINE][1:])
    cpu_async = statistics.median(CPU[ASYNC_BASELINE][1:])
    cpu_ask = statistics.median(CPU["lmtui"][1:])
    print(
        f"  CPU time (user + system), medians: sync {cpu_base * 1000:.0f} ms, "
        f"async {cpu_async * 1000:.0f} ms, lmtui ask {cpu_ask * 1000:.0f} ms"
    )
    print(f"  CPU ratio to sync baseline:  {cpu_ask / cpu_base:.2f} (goal <= 1.25)")
    print(f"  CPU ratio to async baseline: {cpu_ask / cpu_async:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
