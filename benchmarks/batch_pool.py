"""Does a batch over three servers run ≥ 2.7× as fast as over one, and survive losing one?

Starts three fake servers (``tests/fake_server.py`` processes), each pacing every
reply at the same tokens/s per slot and generating at most 2 replies at once (more
requests queue, as llama.cpp's do). The servers say their 2 slots in their
model listing, so the pool's concurrency comes from them.

1. Throughput: 120 rows over one server, then over all three, alternating; the
   batch runner (``run_batch`` with the ``ServerPool``, real HTTP clients) is timed
   in-process from the first request to the last row written; medians of ``--runs``.
2. Failover: 120 rows over all three; when half the rows are written, one server
   is killed with SIGKILL. Checks that all 120 rows are in the output, without
   errors, each written exactly once, and says which server was taken out.

    .venv/bin/python benchmarks/batch_pool.py [--rows 120] [--tokens 30] [--tps 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fake_process import start_fake_server  # noqa: E402

from lmtui.backend.client import LMStudioClient  # noqa: E402
from lmtui.backend.types import SamplingParams  # noqa: E402
from lmtui.services.batch import BatchProgress, BatchRow, BatchSettings, read_rows, run_batch  # noqa: E402
from lmtui.services.batch_pool import PoolServer, ServerPool, server_slots  # noqa: E402

MODEL = "qwen2.5-7b-instruct"


def start_fake(tokens: int, tps: float) -> tuple[subprocess.Popen[str], str]:
    """One fake server process: ``tokens`` deltas per reply at ``tps`` each, 2 slots."""
    return start_fake_server(
        "--port", "0", "--deltas", str(tokens), "--tokens-per-second", str(tps), "--slots", "2"
    )


def resolver(row: BatchRow) -> tuple[str, str, SamplingParams]:
    """Every row: the same model, no system prompt, default parameters."""
    return MODEL, "", SamplingParams()


async def run(
    urls: list[str], rows: list[BatchRow], out: Path, on_row=None
) -> tuple[float, ServerPool, BatchProgress]:
    """Run the batch over ``urls``; seconds from start to the last row written."""
    async with AsyncExitStack() as stack:
        servers = []
        for url in urls:
            client = await stack.enter_async_context(LMStudioClient(url))
            slots, source = await server_slots(client, None)
            servers.append(PoolServer(url, client, resolver, slots, source))
        pool = ServerPool(servers)
        settings = BatchSettings(MODEL, concurrency=pool.total_slots)
        started = time.perf_counter()
        state = await run_batch(
            servers[0].client, rows, out, settings, asker=pool.ask, progress=on_row
        )
        return time.perf_counter() - started, pool, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=120)
    parser.add_argument("--tokens", type=int, default=30, help="deltas (tokens) per reply")
    parser.add_argument("--tps", type=float, default=100.0, help="tokens/s per slot")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lmtui-bench-pool-"))
    source = work / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"row {i}"}) + "\n" for i in range(args.rows)))
    rows = read_rows(source)
    procs = [start_fake(args.tokens, args.tps) for _ in range(3)]
    urls = [url for _, url in procs]
    try:
        one: list[float] = []
        three: list[float] = []
        for i in range(args.runs):
            for label, which, times in (("one", urls[:1], one), ("three", urls, three)):
                out = work / f"{label}-{i}.jsonl"
                seconds, pool, state = asyncio.run(run(which, rows, out))
                assert state.done == args.rows, (label, state)
                slots = ",".join(str(s.slots) for s in pool.servers)
                times.append(seconds)
                print(f"run {i + 1} {label:5}: {seconds:6.2f} s  slots {slots}", flush=True)
        ratio = statistics.median(one) / statistics.median(three)
        print(
            f"median one server   : {statistics.median(one):.2f} s "
            f"({args.rows / statistics.median(one):.1f} rows/s)"
        )
        print(
            f"median three servers: {statistics.median(three):.2f} s "
            f"({args.rows / statistics.median(three):.1f} rows/s)"
        )
        print(f"throughput ratio    : {ratio:.2f} (goal ≥ 2.7)")

        # Failover: kill the second server with SIGKILL when half the rows are written.
        out = work / "failover.jsonl"
        written: list[int] = []
        victim = procs[1][0]

        def on_row(p: BatchProgress) -> None:
            written.append(p.done + p.failed + p.invalid)
            if p.done + p.failed + p.invalid == args.rows // 2 and victim.poll() is None:
                victim.send_signal(signal.SIGKILL)

        seconds, pool, state = asyncio.run(run(urls, rows, out, on_row))
        final = [json.loads(line) for line in out.read_text().splitlines()]
        indexes = Counter(r["index"] for r in final)
        errors = [r for r in final if r["error"] is not None]
        by_server = Counter(r["server"] for r in final)
        print(f"failover: killed {urls[1]} after {args.rows // 2} rows; run took {seconds:.2f} s")
        print(
            f"  rows written {len(written)} (progress callbacks), in output {len(final)}, "
            f"distinct {len(indexes)}, with errors {len(errors)}, moved {pool.moved}"
        )
        print(f"  rows per server: {dict(by_server)}")
        for line in pool.summary():
            print(f"  {line}")
        ok = (
            len(final) == args.rows == len(indexes) == len(written)
            and not errors
            and max(indexes.values()) == 1
        )
        print(f"  all {args.rows} rows, none twice: {'yes' if ok else 'NO'}")
        return 0 if ratio >= 2.7 and ok else 1
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
