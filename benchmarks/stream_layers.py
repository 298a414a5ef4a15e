"""Where the time of a fast stream goes, layer by layer, in one process and without the UI.

Reads the fake server's 4,000-delta Markdown reply (the one ``stream_tui.py`` times)
through each layer of lmtui's path, alternating the layers run by run, and prints the
median of each (request → last event, ``perf_counter``):

- raw socket: no HTTP library at all — one request written to an asyncio stream, the
  chunked body undone, the events split and each ``json.loads``-ed, in a few lines of
  Python that handle nothing else (no errors, no timeouts): what a client could cost if
  it did not go through httpx and h11;
- bare sync / bare async: httpx + httpx-sse alone (``connect_sse`` / ``aconnect_sse``),
  the stack the sync client is built on — the floor for anything that uses it;
- bare aiohttp: aiohttp with lmtui's SSE splitter (``backend/sse.py``), the stack the
  async client streams over since session 6 — its floor;
- client: ``LMStudioClient.stream_chat`` (adds the JSON, the assembler, the error
  mapping) — and ``SyncClient.stream_chat``, its synchronous twin;
- session: ``ChatSession.send`` iterated to the end (adds the entry, the route report,
  the repetition detector; no history), what the TUI's reply widget consumes.

The TUI's own figure (Enter → last text on screen, in tmux) is ``stream_tui.py``'s; this
script says how much of it the client stack itself must spend. See
benchmarks/README.md, "TUI ÷ wire".

    .venv/bin/python benchmarks/stream_layers.py [--deltas 4000] [--runs 9]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from fake_process import start_fake_server
from httpx_sse import aconnect_sse, connect_sse

from lmtui.backend.client import LMStudioClient
from lmtui.backend.sse import SSESplitter
from lmtui.backend.sync_client import SyncClient
from lmtui.backend.types import ChatRequest, Message
from lmtui.services.chat import ChatSession

ROOT = Path(__file__).resolve().parent.parent
MODEL = "qwen2.5-7b-instruct"


def _body() -> dict[str, object]:
    return {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "go"}]}


def _request() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=(Message("user", "go"),))


def bare_sync(url: str) -> float:
    """Seconds for httpx + httpx-sse (sync) to read the reply."""
    with httpx.Client(timeout=60) as client:
        started = time.perf_counter()
        with connect_sse(client, "POST", url + "/v1/chat/completions", json=_body()) as events:
            for sse in events.iter_sse():
                if sse.data == "[DONE]":
                    break
        return time.perf_counter() - started


def sync_client(url: str) -> float:
    """Seconds for lmtui's synchronous client to read the reply."""
    client = SyncClient(url)
    started = time.perf_counter()
    for _ in client.stream_chat(_request()):
        pass
    took = time.perf_counter() - started
    client.close()
    return took


async def bare_async(url: str) -> float:
    """Seconds for httpx + httpx-sse (async) to read the reply."""
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        path = url + "/v1/chat/completions"
        async with aconnect_sse(client, "POST", path, json=_body()) as events:
            async for sse in events.aiter_sse():
                if sse.data == "[DONE]":
                    break
        return time.perf_counter() - started


async def bare_aiohttp(url: str) -> float:
    """Seconds for aiohttp + lmtui's SSE splitter (what the async client streams over)."""
    import aiohttp

    async with aiohttp.ClientSession() as client:
        started = time.perf_counter()
        path = url + "/v1/chat/completions"
        async with client.post(path, json=_body()) as resp:
            splitter = SSESplitter()
            done = False
            async for chunk in resp.content.iter_any():
                for _event, data in splitter.feed(chunk):
                    if data == "[DONE]":
                        done = True
                if done:
                    break
        return time.perf_counter() - started


async def raw_socket(url: str) -> float:
    """Seconds for a bare asyncio stream to read, de-chunk, split and decode the reply."""
    host, _, port = url.split("//", 1)[1].rstrip("/").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps(_body()).encode()
    started = time.perf_counter()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    received = bytearray()
    while not received.endswith(b"\r\n0\r\n\r\n"):
        data = await reader.read(1 << 16)
        if not data:
            break
        received += data
    payload = bytes(received).partition(b"\r\n\r\n")[2]
    pieces, at = [], 0
    while True:  # the chunked body, one SSE event per chunk
        eol = payload.index(b"\r\n", at)
        size = int(payload[at:eol].split(b";")[0], 16)
        if size == 0:
            break
        pieces.append(payload[eol + 2 : eol + 2 + size])
        at = eol + 4 + size
    for event in b"".join(pieces).split(b"\n\n"):
        if event.startswith(b"data: {"):
            json.loads(event[6:])
    took = time.perf_counter() - started
    writer.close()
    return took


async def async_client(url: str) -> float:
    """Seconds for lmtui's async client to read the reply."""
    client = LMStudioClient(url)
    started = time.perf_counter()
    async for _ in client.stream_chat(_request()):
        pass
    took = time.perf_counter() - started
    await client.aclose()
    return took


async def session(url: str) -> float:
    """Seconds for a chat session (no history) to stream the reply into its entry."""
    client = LMStudioClient(url)
    chat = ChatSession(client, model=MODEL)
    started = time.perf_counter()
    async for _ in chat.send("go"):
        pass
    took = time.perf_counter() - started
    await client.aclose()
    return took


async def measure(url: str, runs: int) -> dict[str, list[float]]:
    """Every layer ``runs`` times, alternating; seconds per run, by layer."""
    sync_layers: dict[str, Callable[[str], float]] = {
        "bare sync (httpx-sse)": bare_sync,
        "lmtui sync client": sync_client,
    }
    async_layers: dict[str, Callable[[str], Awaitable[float]]] = {
        "raw socket (no httpx)": raw_socket,
        "bare async (httpx-sse)": bare_async,
        "bare async (aiohttp)": bare_aiohttp,
        "lmtui async client": async_client,
        "lmtui chat session": session,
    }
    times: dict[str, list[float]] = {name: [] for name in (*sync_layers, *async_layers)}
    for _ in range(runs):
        for name, run in sync_layers.items():
            times[name].append(run(url))
        for name, arun in async_layers.items():
            times[name].append(await arun(url))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    proc, url = start_fake_server("--markdown", "--deltas", str(args.deltas))
    try:
        asyncio.run(async_client(url))  # connections and imports warmed once, not timed
        times = asyncio.run(measure(url, args.runs))
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    base = statistics.median(times["bare sync (httpx-sse)"])
    print(f"deltas: {args.deltas}; medians of {args.runs}, load {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:24s} {median * 1000:7.1f} ms   ÷ bare sync {median / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
