"""``lmtui batch``: run many prompts, resumably, with progress on stderr."""

from __future__ import annotations

import argparse
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
    p.add_argument(
        "--concurrency",
        "-j",
        type=int,
        help="requests at once per server (default: what the server says, else 2)",
    )
    p.add_argument(
        "--servers",
        metavar="A,B,C",
        help="spread the rows over these server profiles (or URLs); default: the one server",
    )
    p.add_argument("--schema", metavar="FILE", help="JSON Schema every reply must follow")
    p.add_argument(
        "--retries", type=int, default=0, help="ask again this often when a reply breaks the schema"
    )
    p.add_argument(
        "--max-failures",
        type=int,
        default=3,
        help="failures in a row before a server is taken out of the pool (default 3)",
    )
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
    from contextlib import AsyncExitStack

    from lmtui.backend.errors import ConfigError
    from lmtui.cli.batch_progress import progress_display
    from lmtui.services.batch import BatchSettings, read_rows, run_batch
    from lmtui.services.batch_pool import (
        PoolServer,
        ServerPool,
        check_pool_vision,
        server_slots,
    )
    from lmtui.services.clients import client_for
    from lmtui.services.schemas import load_schema_arg

    rows = read_rows(Path(args.input), prompt_column=args.prompt_column)
    from lmtui.services.batch import check_batch_output

    check_batch_output(Path(args.out))  # before any request: a refused --out costs nothing
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1.")
    if args.retries < 0:
        raise ConfigError("--retries must be 0 or more.")
    overrides = {
        k: v
        for k, v in {"temperature": args.temperature, "max_tokens": args.max_tokens}.items()
        if v is not None
    }
    schema = load_schema_arg(args.schema)
    if schema is not None:
        overrides["response_format"] = schema.response_format
    async with AsyncExitStack() as stack:
        servers = []
        for name, server_cfg in _server_configs(args, cfg):
            client = await stack.enter_async_context(client_for(server_cfg))
            resolve = await _row_resolver(client, server_cfg, args, rows, checked_params(overrides))
            slots, source = await server_slots(client, args.concurrency)
            servers.append(PoolServer(name, client, resolve, slots, source))
        pool = ServerPool(servers, retries=args.retries, max_failures=args.max_failures)
        await check_pool_vision(pool, rows)
        settings = BatchSettings(cfg.model, args.system or "", concurrency=pool.total_slots)
        with progress_display(pool, len(rows)) as display:
            state = await run_batch(
                servers[0].client,
                rows,
                Path(args.out),
                settings,
                progress=display.update,
                asker=pool.ask,
            )
    for line in pool.summary():
        warn(f"lmtui: {line}")
    invalid = f"{state.invalid} invalid, " if schema or state.invalid else ""
    warn(
        f"lmtui: {state.done} done, {invalid}{state.failed} failed, "
        f"{state.skipped} already done → {args.out}"
    )
    return 0 if state.failed == 0 and state.invalid == 0 else 1


def _server_configs(args: argparse.Namespace, cfg: Any) -> list[tuple[str, Any]]:
    """(name, config) of every server the batch uses: ``--servers`` or the one configured."""
    from dataclasses import replace

    from lmtui.backend.errors import ConfigError

    if not args.servers:
        return [(cfg.base_url if cfg.server == "default" else cfg.server, cfg)]
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise ConfigError("--servers names a server twice.", "List each server once.")
    found = []
    for name in names:
        if name == "local":
            raise ConfigError(
                "The embedded server cannot be part of --servers.",
                "Start it with `lmtui local` and list its URL instead.",
            )
        if "://" in name:
            # A bare URL gets no token: a configured token belongs to its own server only.
            found.append((name, replace(cfg.with_overrides(base_url=name), api_token=None)))
        else:
            found.append((name, cfg.with_server(name)))
    return found


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
