"""``lmtui doctor``: is the server healthy, and if not, what to do."""

from __future__ import annotations

import argparse
from typing import Any

from lmtui.backend.urls import display_url
from lmtui.cli.common import (
    add_subcommand,
    load_effective_config,
    local_server_if_asked,
    print_json,
)
from lmtui.cli.output import say

_MARK = {"ok": "ok  ", "info": "info", "warn": "WARN", "error": "FAIL"}


def register(sub: Any) -> None:
    """Add ``doctor`` to the subcommands."""
    p = add_subcommand(sub, "doctor", "check the server, its APIs and models; suggest fixes")
    p.add_argument("--json", action="store_true", help="machine-readable findings")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui doctor``; exit 0 only when healthy."""
    import asyncio

    cfg = load_effective_config(args)
    with local_server_if_asked(args, cfg) as cfg:
        return asyncio.run(_doctor(args, cfg))


async def _doctor(args: argparse.Namespace, cfg: Any) -> int:
    from lmtui.services.clients import client_for
    from lmtui.services.doctor import diagnose

    async with client_for(cfg) as client:
        diag = await diagnose(client, model=cfg.model)
    if args.json:
        print_json(diag.to_json())
    else:
        say(f"lmtui doctor — {display_url(cfg.base_url)}")
        for f in diag.findings:
            say(f"  [{_MARK[f.severity]}] {f.title}")
            if f.detail:
                say(f"         {f.detail}")
            if f.remedy and not f.ok:
                say(f"         remedy: {f.remedy}")
        say("healthy" if diag.healthy else "problems found")
    return 0 if diag.healthy else 1
