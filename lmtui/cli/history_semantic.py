"""``lmtui history search --semantic`` and ``lmtui history index``: the history by meaning.

Apart from ``cli/history.py`` so that the plain history commands never import
httpx, numpy or asyncio.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from lmtui.cli.common import load_effective_config, print_json

if TYPE_CHECKING:
    from lmtui.services.semantic import IndexProgress, SemanticSearch

# Without a terminal, a progress line every this many percent (and at the end).
PLAIN_STEP_PERCENT = 10


def run(args: argparse.Namespace) -> int:
    """Handle ``history index`` and ``history search --semantic``."""
    import asyncio

    cfg = load_effective_config(args)
    if args.history_command == "index":
        return asyncio.run(_index(args, cfg))
    return asyncio.run(_search(args, cfg))


class _Service:
    """A client, the history, its vectors and the search service, closed together."""

    def __init__(self, args: argparse.Namespace, cfg: Any) -> None:
        self.args = args
        self.cfg = cfg

    async def __aenter__(self) -> SemanticSearch:
        from lmtui.services.clients import client_for
        from lmtui.services.semantic import SemanticSearch, choose_embedding_model
        from lmtui.store.history import HistoryStore
        from lmtui.store.vectors import VectorStore

        self.client = client_for(self.cfg)
        self.history: HistoryStore | None = None
        self.vectors: VectorStore | None = None
        try:
            model = await choose_embedding_model(
                self.client,
                explicit=getattr(self.args, "model", None),
                configured=self.cfg.embedding_model,
            )
            self.history = HistoryStore()
            self.vectors = VectorStore(self.history.path)
        except BaseException:
            await self.__aexit__()
            raise
        return SemanticSearch(self.client, self.history, self.vectors, model)

    async def __aexit__(self, *exc: object) -> None:
        if self.vectors is not None:
            self.vectors.close()
        if self.history is not None:
            self.history.close()
        await self.client.aclose()


class ProgressLine:
    """Index progress: one line rewritten in place on a terminal, plain lines otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.last_step = -1

    def __call__(self, p: IndexProgress) -> None:
        percent = 100.0 * p.done / p.total if p.total else 100.0
        text = f"indexing with {p.model}: {p.done:,} / {p.total:,} messages ({percent:.0f} %)"
        elapsed = time.monotonic() - self.started
        if p.done and elapsed > 1.0 and p.done < p.total:
            rate = p.done / elapsed
            left = (p.total - p.done) / rate
            text += f", {rate:,.0f}/s, {int(left // 60)}:{int(left % 60):02d} left"
        if self.tty:
            self.out.write(f"\r{text}\x1b[K")
            self.out.flush()
            return
        step = int(percent // PLAIN_STEP_PERCENT)
        if step != self.last_step:
            print(text, file=self.out, flush=True)
            self.last_step = step

    def end(self) -> None:
        """Finish the in-place line."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()


async def _index(args: argparse.Namespace, cfg: Any) -> int:
    import asyncio

    line = ProgressLine(sys.stderr)
    async with _Service(args, cfg) as service:
        if args.rebuild:
            service.vectors.clear(service.model)
        try:
            state = await service.index(line)
        except (KeyboardInterrupt, asyncio.CancelledError):
            line.end()
            done = service.vectors.count_indexed(service.model)
            print(
                f"Stopped. {done:,} messages are indexed with {service.model}; "
                "`lmtui history index` goes on from there.",
                file=sys.stderr,
            )
            return 130
        line.end()
        indexed = service.vectors.count_indexed(service.model)
    print(f"Indexed {state.done:,} new messages; {indexed:,} in all with {service.model}.")
    return 0


async def _search(args: argparse.Namespace, cfg: Any) -> int:
    query = " ".join(args.query)
    limit = args.limit if args.limit > 0 else 50
    async with _Service(args, cfg) as service:
        hits = await service.search(query, limit=limit, words=False)
        empty = not hits and service.vectors.count_indexed(service.model) == 0
    if args.json:
        print_json(
            {
                "query": query,
                "model": service.model,
                "hits": [
                    {
                        "id": h.conversation_id,
                        "title": h.title,
                        "snippet": h.snippet,
                        "score": round(h.score, 4),
                        "message_id": h.message_id,
                        "chunk": h.chunk,
                        "chunks": h.chunks,
                    }
                    for h in hits
                ],
            }
        )
        return 0
    if empty:
        print(f"Nothing is indexed with {service.model} yet: run `lmtui history index`.")
        return 0
    if not hits:
        print("Nothing found.")
        return 0
    shown = _inert if sys.stdout.isatty() else str
    for h in hits:
        where = f"message {h.message_id}" + (
            f", chunk {h.chunk + 1} of {h.chunks}" if h.chunks > 1 else ""
        )
        print(f"{h.conversation_id:>6}  {h.score:.3f}  {shown(h.title)}")
        print(f"        [{where}] {shown(h.snippet)}")
    return 0


def _inert(text: str) -> str:
    from lmtui.services.terminal_text import make_inert

    return make_inert(text)
