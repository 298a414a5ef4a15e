"""A batch spread over several servers, each with its own parallel slots.

:class:`ServerPool` is the ``asker`` of :func:`lmtui.services.batch.run_batch`:
each row goes to the first free slot of a live server (servers in the order
given), its reply is checked against the schema when there is one (and asked
again up to ``retries`` times when it does not follow it), and the output record
says which server and model produced it.

A server that fails (refused connection, reply cut mid-stream, malformed answer)
has the row moved to another server; after ``max_failures`` failures in a row it
is taken out of the pool and the summary says so. Only when every server is out
does the run stop (as a one-server run does today).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import LmtuiError, ServerUnreachable
from lmtui.backend.types import JSON, SamplingParams
from lmtui.services.batch import FATAL, BatchRow, _ask_row
from lmtui.services.images import VisionRequired, require_vision
from lmtui.services.schemas import check_reply
from lmtui.store.schema_files import schema_of

DEFAULT_SLOTS = 2
DEFAULT_MAX_FAILURES = 3
# Error kinds that say "this server is in trouble", not "this row is bad".
SERVER_FAILURES = frozenset({"unreachable", "interrupted", "malformed", "model_loading"})

Resolver = Callable[[BatchRow], tuple[str, str, SamplingParams]]


@dataclass(slots=True)
class PoolServer:
    """One server of the pool and how it is doing."""

    name: str
    client: LMStudioClient
    resolve: Resolver
    slots: int = DEFAULT_SLOTS
    slots_source: str = "default"  # "server", "--concurrency" or "default"
    busy: int = 0
    done: int = 0
    failures_in_row: int = 0
    failures: int = 0
    down: bool = False
    down_reason: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def rows_per_second(self) -> float:
        """Rows this server finished per second since the run started."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


async def server_slots(client: LMStudioClient, asked: int | None) -> tuple[int, str]:
    """Parallel slots for one server: ``asked`` (``--concurrency``), else what the server
    says, else :data:`DEFAULT_SLOTS`; with where the number came from."""
    if asked is not None:
        return max(1, asked), "--concurrency"
    try:
        said = await client.parallel_slots()
    except LmtuiError:
        said = None
    if said:
        return said, "server"
    return DEFAULT_SLOTS, "default"


class ServerPool:
    """Rows to the first free slot of a live server; schema checks and failover."""

    def __init__(
        self,
        servers: Sequence[PoolServer],
        *,
        retries: int = 0,
        max_failures: int = DEFAULT_MAX_FAILURES,
    ) -> None:
        if not servers:
            raise ValueError("a pool needs at least one server")
        self.servers = list(servers)
        self.retries = max(0, retries)
        self.max_failures = max(1, max_failures)
        self.moved = 0  # rows asked again elsewhere after a server failure
        self._changed = asyncio.Condition()

    @property
    def total_slots(self) -> int:
        """Slots of every server, live or not (the run's upper bound on rows at once)."""
        return sum(s.slots for s in self.servers)

    def live(self) -> list[PoolServer]:
        """The servers still in the pool."""
        return [s for s in self.servers if not s.down]

    def summary(self) -> list[str]:
        """One line per server that was taken out, for the end of the run."""
        return [
            f"server {s.name} was taken out after {s.failures} failures ({s.down_reason}); "
            "its rows went to the others"
            for s in self.servers
            if s.down
        ]

    async def _acquire(self) -> PoolServer:
        async with self._changed:
            while True:
                live = self.live()
                if not live:
                    reasons = "; ".join(f"{s.name}: {s.down_reason}" for s in self.servers)
                    raise ServerUnreachable(
                        f"Every server of the batch failed — {reasons}",
                        "Check the servers (`lmtui servers`), then rerun: finished rows are kept.",
                    )
                free = next((s for s in live if s.busy < s.slots), None)
                if free is not None:
                    free.busy += 1
                    return free
                await self._changed.wait()

    async def _release(self, server: PoolServer) -> None:
        async with self._changed:
            server.busy -= 1
            self._changed.notify_all()

    async def _failed(self, server: PoolServer, reason: str) -> None:
        async with self._changed:
            server.failures += 1
            server.failures_in_row += 1
            if server.failures_in_row >= self.max_failures and not server.down:
                server.down = True
                server.down_reason = reason
            self._changed.notify_all()

    async def ask(self, row: BatchRow) -> dict[str, Any]:
        """Ask one row on the pool and return its output record."""
        # A row may meet each server's failure limit once before it is given up on.
        last: dict[str, Any] | None = None
        for _ in range(self.max_failures * len(self.servers)):
            server = await self._acquire()  # raises when no server is left
            try:
                record = await self._ask_on(server, row)
            except FATAL as exc:
                if not isinstance(exc, ServerUnreachable):
                    raise  # an auth failure is the user's to fix, on every server alike
                record = {
                    "index": row.index,
                    "id": row.id,
                    "input": row.input,
                    "model": None,
                    "output": None,
                    "finish_reason": None,
                    "error": exc.message,
                    "error_kind": exc.kind,
                    "server": server.name,
                }
            finally:
                await self._release(server)
            if record.get("error_kind") in SERVER_FAILURES:
                await self._failed(server, str(record.get("error")))
                self.moved += 1
                last = record
                continue
            server.failures_in_row = 0
            server.done += 1
            return record
        if not self.live():
            await self._acquire()  # raises: no server is left, the run stops
        assert last is not None
        return last

    async def _ask_on(self, server: PoolServer, row: BatchRow) -> dict[str, Any]:
        """Ask ``row`` on ``server``, again while the reply breaks the schema (``retries``)."""
        try:
            how: tuple[str, str, SamplingParams] | LmtuiError = server.resolve(row)
        except LmtuiError as exc:
            how = exc
        schema = schema_of(how[2].response_format) if isinstance(how, tuple) else None
        record: dict[str, Any] = {}
        for attempt in range(1, self.retries + 2):
            record = await _ask_row(server.client, row, how)
            record["server"] = server.name
            if schema is None or record["error"] is not None:
                return record
            record |= _checked(record, schema)
            record["attempts"] = attempt
            if record["valid"]:
                return record
        record["error"] = "the reply does not follow the schema"
        record["error_kind"] = "schema_invalid"
        return record


def _checked(record: dict[str, Any], schema: JSON) -> dict[str, Any]:
    check = check_reply(record.get("output") or "", record.get("reasoning") or "", schema)
    return {
        "parsed": check.value,
        "valid": check.valid,
        "schema_errors": list(check.errors),
        "note": check.note or None,
    }


async def check_pool_vision(pool: ServerPool, rows: Sequence[BatchRow]) -> None:
    """Refuse, before anything is sent, rows with images for a model without vision."""
    with_images = [r for r in rows if r.images]
    if not with_images:
        return
    for server in pool.servers:
        models = await server.client.list_models(refresh=False)
        for row in with_images:
            try:
                model = server.resolve(row)[0]
            except LmtuiError:
                continue  # the row's own error is written when it is asked
            try:
                require_vision(model, models, server.client.capabilities)
            except VisionRequired as exc:
                where = f"row {row.index}" + (f" (id {row.id})" if row.id else "")
                raise VisionRequired(
                    f"{where} on server {server.name}: {exc.message}", exc.remedy
                ) from None
