"""Batch runs: many prompts, one JSONL row out per prompt, resumable.

The LM Studio guide's batch pattern, done so that nothing is lost: every finished
row is appended to the output at once, a rerun skips rows already done, rows are
grouped by model so models stay loaded, and concurrency is bounded.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from lmtui.backend.client import LMStudioClient
from lmtui.backend.errors import AuthRequired, ConfigError, LmtuiError, ServerUnreachable
from lmtui.backend.types import ChatRequest, ChatResult, Message, SamplingParams
from lmtui.store.safe_files import (
    UnsafeFile,
    check_output_path,
    lines_of,
    open_append,
    replace_file,
)

# Failures that would fail every row alike: stop the run instead of writing them all.
FATAL = (ServerUnreachable, AuthRequired)


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One input row."""

    index: int
    messages: tuple[Message, ...]
    input: dict[str, Any]
    model: str | None = None
    preset: str | None = None
    id: str | None = None
    images: tuple[Path, ...] = ()  # sent with the last user message; read when asked


@dataclass(slots=True)
class BatchProgress:
    """Where a run stands; passed to the progress callback after every row."""

    total: int
    skipped: int
    done: int = 0
    failed: int = 0
    invalid: int = 0  # answered, but not following the schema (after every retry)
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        """Rows still to run."""
        return self.total - self.skipped - self.done - self.failed - self.invalid

    @property
    def rows_per_second(self) -> float:
        """Rows finished (any outcome) per second over the whole run."""
        elapsed = time.monotonic() - self.started
        finished = self.done + self.failed + self.invalid
        return finished / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far."""
        finished = self.done + self.failed + self.invalid
        if not finished:
            return None
        return (time.monotonic() - self.started) / finished * self.remaining

    @property
    def tokens_per_second(self) -> float:
        """Completion tokens per second over the whole run."""
        elapsed = time.monotonic() - self.started
        return self.tokens / elapsed if elapsed > 0 else 0.0


ProgressCallback = Callable[[BatchProgress], None]


def read_rows(path: Path, *, prompt_column: str = "prompt") -> list[BatchRow]:
    """Read JSONL, CSV (a prompt column) or plain text (one prompt per line)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text.") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return list(_jsonl_rows(path, text))
    if suffix == ".csv":
        return list(_csv_rows(path, text, prompt_column))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [BatchRow(i, (Message("user", ln),), {"prompt": ln}) for i, ln in enumerate(lines)]


def _jsonl_rows(path: Path, text: str) -> Iterable[BatchRow]:
    index = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}: line {lineno}: not valid JSON ({exc}).") from None
        if not isinstance(obj, dict):
            raise ConfigError(f"{path}: line {lineno}: each line must be a JSON object.")
        messages: tuple[Message, ...]
        if isinstance(obj.get("messages"), list):
            try:
                messages = tuple(
                    Message(str(m["role"]), str(m["content"])) for m in obj["messages"]
                )
            except (KeyError, TypeError):
                raise ConfigError(
                    f"{path}: line {lineno}: each message needs 'role' and 'content'."
                ) from None
        elif isinstance(obj.get("prompt"), str):
            messages = (Message("user", obj["prompt"]),)
        else:
            raise ConfigError(
                f"{path}: line {lineno}: needs a 'prompt' string or a 'messages' list."
            )
        model = obj.get("model")
        preset = obj.get("preset")
        row_id = obj.get("id")
        yield BatchRow(
            index,
            messages,
            obj,
            model=model if isinstance(model, str) else None,
            preset=preset if isinstance(preset, str) else None,
            id=str(row_id) if row_id is not None else None,
            images=_row_images(path, lineno, obj),
        )
        index += 1


def _row_images(path: Path, lineno: int, obj: dict[str, Any]) -> tuple[Path, ...]:
    """A row's ``image``/``images`` paths, relative to the input file's folder."""
    raw = obj.get("images", obj.get("image"))
    if raw is None:
        return ()
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(
            f"{path}: line {lineno}: 'image' must be a path and 'images' a list of paths."
        )
    return tuple(path.parent / Path(n).expanduser() for n in names)


def _csv_rows(path: Path, text: str, column: str) -> Iterable[BatchRow]:
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or column not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "none"
        raise ConfigError(f"{path}: no '{column}' column (columns: {found}).")
    for i, rec in enumerate(reader):
        prompt = rec.get(column) or ""
        model = rec.get("model") or None
        preset = rec.get("preset") or None
        yield BatchRow(
            i, (Message("user", prompt),), dict(rec), model=model, preset=preset, id=rec.get("id")
        )


def check_batch_output(out: Path) -> None:
    """Refuse an ``--out`` that is not a regular file or holds lines that are not batch rows.

    lmtui rewrites its output (compaction), so a file that is someone else's would lose
    every line that is not a row. Only the last line may be cut (a crash mid-write).
    """
    if not check_output_path(out):
        return
    last_bad: int | None = None
    for n, line in enumerate(lines_of(out), 1):
        if last_bad is not None:
            break
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            last_bad = n
            continue
        if not (isinstance(obj, dict) and isinstance(obj.get("index"), int)):
            last_bad = n
    else:
        return  # at most the last line was cut
    raise UnsafeFile(
        f"{out}: line {last_bad} is not an lmtui batch row; lmtui will not rewrite this file.",
        "Choose another --out file (rerunning with the same one resumes a batch).",
    )


def done_indexes(out: Path) -> set[int]:
    """Indexes of rows the output already holds without an error."""
    done: set[int] = set()
    if not out.exists():
        return done
    with out.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash: that row runs again
            if (
                isinstance(obj, dict)
                and obj.get("error") is None
                and isinstance(obj.get("index"), int)
            ):
                done.add(obj["index"])
    return done


def compact_output(out: Path) -> None:
    """Rewrite the output with one row per index (the last good one), in input order."""
    rows: dict[int, dict[str, Any]] = {}
    with out.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("index"), int):
                continue
            idx = obj["index"]
            if idx not in rows or rows[idx].get("error") is not None:
                rows[idx] = obj

    def write(fh: BinaryIO) -> None:
        for idx in sorted(rows):
            fh.write((json.dumps(rows[idx], ensure_ascii=False) + "\n").encode())

    replace_file(out, write)


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """How every row is asked, unless the row says otherwise."""

    model: str | None = None
    system_prompt: str = ""
    params: SamplingParams = field(default_factory=SamplingParams)
    concurrency: int = 2


async def run_batch(
    client: LMStudioClient,
    rows: list[BatchRow],
    out: Path,
    settings: BatchSettings,
    *,
    resolve_row: Callable[[BatchRow], tuple[str, str, SamplingParams]] | None = None,
    progress: ProgressCallback | None = None,
    asker: Callable[[BatchRow], Awaitable[dict[str, Any]]] | None = None,
) -> BatchProgress:
    """Run the rows not yet in ``out``, appending one JSON line per finished row.

    ``asker`` (a server pool, :mod:`lmtui.services.batch_pool`) replaces asking
    ``client`` directly: it gets each row and returns its output record.
    """
    check_batch_output(out)
    already = done_indexes(out)
    pending = [r for r in rows if r.index not in already]
    state = BatchProgress(total=len(rows), skipped=len(rows) - len(pending))

    def plan(row: BatchRow) -> tuple[str, str, SamplingParams]:
        if resolve_row is not None:
            return resolve_row(row)
        model = row.model or settings.model
        if not model:
            raise LmtuiError("No model for this row.", "Pass --model or --preset, or add 'model'.")
        return model, settings.system_prompt, settings.params

    planned: list[tuple[BatchRow, tuple[str, str, SamplingParams] | LmtuiError]] = []
    for row in pending:
        try:
            planned.append((row, plan(row)))
        except LmtuiError as exc:
            planned.append((row, exc))
    # Group by model (the guide's tip: keep models loaded), input order within a group.
    if asker is not None:
        planned = [(row, LmtuiError("unused")) for row in pending]  # the pool plans per server
    planned.sort(key=lambda p: (p[1][0] if isinstance(p[1], tuple) else "", p[0].index))
    out.parent.mkdir(parents=True, exist_ok=True)
    sem = asyncio.Semaphore(max(1, settings.concurrency))
    lock = asyncio.Lock()
    fatal: list[LmtuiError] = []
    _end_with_newline(out)
    with open_append(out) as fh:

        async def one(row: BatchRow, how: tuple[str, str, SamplingParams] | LmtuiError) -> None:
            async with sem:
                if fatal:
                    return
                try:
                    if asker is not None:
                        record = await asker(row)
                    else:
                        record = await _ask_row(client, row, how)
                except FATAL as exc:
                    fatal.append(exc)
                    return
            async with lock:
                fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
                fh.flush()
                if record["error"] is None:
                    state.done += 1
                    usage = record.get("usage") or {}
                    state.tokens += int(usage.get("completion_tokens") or 0)
                elif record.get("valid") is False:
                    state.invalid += 1
                else:
                    state.failed += 1
                if progress is not None:
                    progress(state)

        await asyncio.gather(*(one(row, how) for row, how in planned))
    compact_output(out)
    if fatal:
        raise fatal[0]
    return state


def _end_with_newline(out: Path) -> None:
    """After a crash mid-write, start the next row on a line of its own."""
    if not out.exists():
        return
    with open_append(out) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size and os.pread(fh.fileno(), 1, size - 1) != b"\n":
            fh.write(b"\n")


async def _ask_row(
    client: LMStudioClient, row: BatchRow, how: tuple[str, str, SamplingParams] | LmtuiError
) -> dict[str, Any]:
    record: dict[str, Any] = {"index": row.index, "id": row.id, "input": row.input}
    if isinstance(how, LmtuiError):
        return record | {"model": None, "output": None, "finish_reason": None, "error": how.message}
    model, system_prompt, params = how
    messages = row.messages
    if system_prompt and not any(m.role == "system" for m in messages):
        messages = (Message("system", system_prompt), *messages)
    result = ChatResult()
    try:
        if row.images:
            messages = _with_images(messages, row.images)
        async for event in client.stream_chat(ChatRequest(model, messages, params)):
            result.apply(event)
    except FATAL:
        raise
    except LmtuiError as exc:
        return record | {
            "model": model,
            "output": result.content or None,
            "finish_reason": None,
            "error": exc.message,
            "error_kind": exc.kind,
            "remedy": exc.remedy,
        }
    timings = asdict(result.client_timings) if result.client_timings else None
    interrupted = result.finish_reason.value == "interrupted"
    return record | {
        "model": result.model or model,
        "output": result.content,
        "reasoning": result.reasoning or None,
        "finish_reason": result.finish_reason.value,
        "usage": asdict(result.usage) if result.usage else None,
        "timings": timings,
        "error": f"interrupted: {result.detail}" if interrupted else None,
        **({"error_kind": "interrupted"} if interrupted else {}),
    }


def _with_images(messages: tuple[Message, ...], images: tuple[Path, ...]) -> tuple[Message, ...]:
    """``messages`` with the row's images read into its last user message."""
    from dataclasses import replace

    from lmtui.services.images import load_images

    urls = load_images(images)
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        return messages
    out = list(messages)
    out[last] = replace(out[last], images=out[last].images + urls)
    return tuple(out)
