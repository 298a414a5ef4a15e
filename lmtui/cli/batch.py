"""``lmtui batch``: run many prompts, resumably, with progress on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lmtui.cli.common import SUPPRESS, add_subcommand, checked_params, load_effective_config
from lmtui.cli.output import warn


def register(sub: Any) -> None:
    """Add ``batch`` to the subcommands."""
    p = add_subcommand(
        sub,
        "batch",
        "run a file of prompts; one JSONL row out per prompt; rerun to resume",
        description="Run every prompt of INPUT (JSONL with 'prompt' or 'messages' and optional "
        "'model'/'preset'/'id'; CSV with a prompt column; or text, one prompt per line) and "
        "write one JSON line per row to --out. Rerunning skips rows already done.",
    )
    p.add_argument("input", help="input file (.jsonl, .csv or text)")
    p.add_argument(
        "--out", "-o", required=True, help="output JSONL file (appended, then compacted)"
    )
    p.add_argument("--preset", default=SUPPRESS, help="preset for every row without its own")
    p.add_argument("--concurrency", "-j", type=int, default=2, help="requests at once (default 2)")
    p.add_argument("--system", help="system prompt for every row")
    p.add_argument("--temperature", "-t", type=float, help="sampling temperature")
    p.add_argument("--max-tokens", "-n", type=int, help="most tokens per reply")
    p.add_argument("--prompt-column", default="prompt", help="CSV column with the prompt")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui batch``."""
    import asyncio

    cfg = load_effective_config(args)
    return asyncio.run(_batch(args, cfg))


async def _batch(args: argparse.Namespace, cfg: Any) -> int:
    from lmtui.backend.errors import ConfigError
    from lmtui.services.batch import BatchProgress, BatchSettings, read_rows, run_batch
    from lmtui.services.clients import client_for

    rows = read_rows(Path(args.input), prompt_column=args.prompt_column)
    from lmtui.services.batch import check_batch_output

    check_batch_output(Path(args.out))  # before any request: a refused --out costs nothing
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1.")
    overrides = {
        k: v
        for k, v in {"temperature": args.temperature, "max_tokens": args.max_tokens}.items()
        if v is not None
    }
    tty = sys.stderr.isatty()

    def show(p: BatchProgress) -> None:
        eta = f"{p.eta_s:.0f}s" if p.eta_s is not None else "?"
        line = (
            f"[{p.done + p.failed + p.skipped}/{p.total}] done {p.done}, failed {p.failed}, "
            f"skipped {p.skipped} · ETA {eta} · {p.tokens_per_second:.1f} tok/s"
        )
        # Only lmtui's own counters here: no server text, so the \r may pass.
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    async with client_for(cfg) as client:
        resolve_row = await _row_resolver(client, cfg, args, rows, checked_params(overrides))
        settings = BatchSettings(cfg.model, args.system or "", concurrency=args.concurrency)
        state = await run_batch(
            client, rows, Path(args.out), settings, resolve_row=resolve_row, progress=show
        )
    if tty:
        print(file=sys.stderr)
    warn(
        f"lmtui: {state.done} done, {state.failed} failed, "
        f"{state.skipped} already done → {args.out}"
    )
    return 0 if state.failed == 0 else 1


async def _row_resolver(
    client: Any, cfg: Any, args: argparse.Namespace, rows: list[Any], overrides: Any
) -> Any:
    """Per-row model, system prompt and parameters: the row's own, else the run's."""
    from lmtui.backend.errors import NoModelLoaded
    from lmtui.backend.types import SamplingParams
    from lmtui.services.models import list_models

    presets = None
    if cfg.preset or any(r.preset for r in rows):
        from lmtui.store.presets import load_presets

        presets = load_presets()
    available = []
    asked = getattr(args, "model", None)
    if any(not (r.model or asked) for r in rows):
        available = await list_models(client)
    notes: set[str] = set()

    def resolve(row: Any) -> tuple[str, str, SamplingParams]:
        name = row.preset or cfg.preset
        preset = None
        if name:
            assert presets is not None
            preset = presets.require(name)
        params = (preset.params if preset else SamplingParams()).merged(overrides)
        system = (
            args.system if args.system is not None else (preset.system_prompt if preset else "")
        )
        explicit = row.model or getattr(args, "model", None)
        model = explicit or (cfg.model if preset is None else None)
        if not model:
            from lmtui.services.model_choice import resolve_model

            choice = resolve_model(preset, None, available, default=cfg.model)
            if choice.model_id is None:
                raise NoModelLoaded(choice.reason)
            if choice.fallback and choice.reason not in notes:
                notes.add(choice.reason)
                warn(f"lmtui: {choice.reason}")
            model = choice.model_id
        return model, system, params

    return resolve
