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
from collections.abc import Callable, Iterable
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


@dataclass(slots=True)
class BatchProgress:
    """Where a run stands; passed to the progress callback after every row."""

    total: int
    skipped: int
    done: int = 0
    failed: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        """Rows still to run."""
        return self.total - self.skipped - self.done - self.failed

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far."""
        finished = self.done + self.failed
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
        )
        index += 1


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
) -> BatchProgress:
    """Run the rows not yet in ``out``, appending one JSON line per finished row."""
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
    }
