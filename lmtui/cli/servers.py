"""``lmtui servers``: every server profile, probed at once."""

from __future__ import annotations

import argparse
from typing import Any

from lmtui.backend.urls import display_url
from lmtui.cli.common import add_subcommand, load_effective_config, print_json
from lmtui.cli.output import say, warn

DEFAULT_TIMEOUT_S = 1.5


def register(sub: Any) -> None:
    """Add ``servers`` to the subcommands."""
    p = add_subcommand(
        sub,
        "servers",
        "list the server profiles with reachability, latency and kind",
        description="List the server profiles of config.toml ([servers.NAME]), the implicit "
        "'default' (top-level settings) and the embedded 'local' server, probing them all at "
        "once. The active one (--server, LMTUI_SERVER) is marked with *.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for each server (default: {DEFAULT_TIMEOUT_S})",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui servers``; exit 0 whether or not the servers answer."""
    from lmtui.backend.errors import ConfigError

    if not 0 < args.timeout <= 60:
        raise ConfigError(
            f"--timeout must be between 0 and 60 seconds, not {args.timeout:g}.",
            "Try --timeout 1.5.",
        )
    cfg = load_effective_config(args)
    import asyncio

    return asyncio.run(_servers(args, cfg))


def _warn(message: str) -> None:
    warn(f"lmtui: warning: {message}")


async def _servers(args: argparse.Namespace, cfg: Any) -> int:
    from lmtui.services.servers import ServerRegistry, token_remedy

    async with ServerRegistry.from_config(cfg, on_warning=_warn) as registry:
        statuses = await registry.probe_all(timeout=args.timeout)
        active = registry.active.name
    if args.json:
        print_json(
            {
                "active": active,
                "config": str(cfg.path) if cfg.path else None,
                "servers": [s.to_json(active=s.profile.name == active) for s in statuses],
            }
        )
        return 0
    rows = [("", "NAME", "STATUS", "LATENCY", "KIND", "API", "MODELS", "URL", "TOKEN", "NOTES")]
    problems: list[str] = []
    for s in statuses:
        p = s.profile
        state = s.state.replace("_", " ")
        if s.needs_token:
            state = "needs token"
            problems.append(f"  {p.name}: needs an API token. {token_remedy(p)}")
        elif s.state == "down" and s.health is not None:
            problems.append(f"  {p.name}: {s.health.error}")
        latency = ""
        if s.health and s.health.latency_ms is not None:
            latency = f"{s.health.latency_ms:.0f} ms"
        kind = s.kind_label or ("llama.cpp" if p.embedded else "")
        caps = s.health.capabilities if s.health else None
        api = " ".join(lv.value for lv in caps.levels) if caps else ""
        models = ""
        if s.models is not None:
            models = str(s.models) if s.models_loaded is None else f"{s.models_loaded}/{s.models}"
        token = "-"
        if p.token_source:
            token = p.token_source + (" (unset)" if p.token_problem else "")
        url = display_url(p.base_url) or "(started on demand)"
        mark = "*" if p.name == active else ""
        rows.append((mark, p.name, state, latency, kind, api, models, url, token, p.notes))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        say("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if problems:
        say()
        say("\n".join(problems))
    say("\nMODELS is loaded/available (just a count when the server does not say).")
    return 0
