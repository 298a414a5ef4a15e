"""``lmtui models``: what the server offers."""

from __future__ import annotations

import argparse
from typing import Any

from lmtui.cli.common import (
    add_subcommand,
    load_effective_config,
    local_server_if_asked,
    print_json,
)
from lmtui.cli.models_admin import instance_rows, register_children, run_action
from lmtui.cli.output import say


def register(sub: Any) -> None:
    """Add ``models`` to the subcommands."""
    p = add_subcommand(
        sub,
        "models",
        "list, load, unload and download models",
        description="List the server's models with their state and loaded instances "
        "(the default), or load, unload and download them (LM Studio 0.4's /api/v1).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run, models_command=None)
    register_children(p)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui models``."""
    import asyncio

    cfg = load_effective_config(args)
    with local_server_if_asked(args, cfg) as cfg:
        if args.models_command not in (None, "list"):
            return run_action(args, cfg)
        return asyncio.run(_models(args, cfg))


async def _models(args: argparse.Namespace, cfg: Any) -> int:
    from dataclasses import asdict

    from lmtui.services.clients import client_for
    from lmtui.services.models import list_models

    async with client_for(cfg) as client:
        models = await list_models(client)
        caps = client.capabilities
    if args.json:
        print_json(
            {
                "base_url": client.base_url,
                "server_kind": caps.kind.value if caps else None,
                "api_levels": [lv.value for lv in caps.levels] if caps else [],
                "models": [asdict(m) | {"type": m.type.value, "state": m.state} for m in models],
            }
        )
        return 0
    if not models:
        say(
            "No models listed. Download one (`lmtui models download <id>` on LM Studio 0.4, "
            "or `lms get <model>`); if models are downloaded, LM Studio lists only loaded ones "
            "while JIT loading is off."
        )
        return 0
    rows = [("MODEL", "TYPE", "STATE", "QUANT", "CONTEXT")]
    for m in models:
        state = {"loaded": "loaded", "loading": "loading", "not-loaded": "-"}.get(m.state, "?")
        ctx = ""
        if m.loaded_context_length:
            ctx = f"{m.loaded_context_length}"
            if m.max_context_length:
                ctx += f"/{m.max_context_length}"
        elif m.max_context_length:
            ctx = f"max {m.max_context_length}"
        rows.append((m.id, m.type.value, state, m.quantization or "", ctx))
        rows.extend(instance_rows(m))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        say("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
