"""``lmtui models load | unload | download``: managing the server's models from a shell.

Registered under ``lmtui models`` by :mod:`lmtui.cli.models`; ``lmtui models`` alone
(or ``lmtui models list``) still lists. Everything goes through
:mod:`lmtui.services.model_admin` and :mod:`lmtui.services.downloads`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lmtui.cli.common import SUPPRESS, add_connection_args, print_json


def _child(sub: Any, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=description)
    add_connection_args(parser, sub=True)
    # SUPPRESS: `lmtui models --json load X` and `lmtui models load X --json` both work.
    parser.add_argument("--json", action="store_true", default=SUPPRESS, help="JSON output")
    return parser


def register_children(parser: argparse.ArgumentParser) -> None:
    """Add ``list``, ``load``, ``unload`` and ``download`` under ``lmtui models``."""
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    _child(sub, "list", "list the models (the default)", "List the server's models and state.")

    load = _child(
        sub,
        "load",
        "load a model with options",
        "Load a model through LM Studio 0.4's /api/v1 with the options given (the rest are "
        "LM Studio's defaults); prints the config LM Studio applied and the load time. "
        "Loading a loaded model adds another instance.",
    )
    load.add_argument("model", help="model key, as `lmtui models` lists it")
    load.add_argument("--context-length", "-c", type=int, metavar="N", help="context in tokens")
    load.add_argument("--eval-batch-size", type=int, metavar="N", help="evaluation batch size")
    load.add_argument(
        "--flash-attention",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="flash attention on (or --no-flash-attention: off)",
    )
    kv = load.add_mutually_exclusive_group()
    kv.add_argument(
        "--gpu-kv", dest="kv_on_gpu", action="store_true", default=None, help="KV cache on GPU"
    )
    kv.add_argument("--cpu-kv", dest="kv_on_gpu", action="store_false", help="KV cache in RAM")
    load.add_argument("--experts", type=int, metavar="N", help="experts to use (MoE models)")

    unload = _child(
        sub,
        "unload",
        "unload an instance, or all",
        "Unload one loaded instance (its id, or the model key when it is loaded once) or, "
        "with --all, every loaded instance.",
    )
    unload.add_argument("instance", nargs="?", help="instance id (see `lmtui models`)")
    unload.add_argument("--all", action="store_true", help="unload every loaded instance")

    download = _child(
        sub,
        "download",
        "download a model into LM Studio",
        "Download a model into LM Studio 0.4 by catalog id (publisher/model) or Hugging Face "
        "URL, and follow it to the end: a live progress line on a terminal, one line per "
        "state change otherwise (one JSON object per line with --json). Ctrl-C stops "
        "watching; LM Studio's API cannot cancel, so the download continues there.",
    )
    download.add_argument("model", help="catalog id or Hugging Face URL")
    download.add_argument(
        "--quantization", "-q", help="quantization to fetch, e.g. Q4_K_M (Hugging Face URLs)"
    )
    download.add_argument(
        "--job", metavar="JOB_ID", help="follow a download already started (its job id)"
    )
    download.add_argument(
        "--poll", type=float, default=1.0, metavar="S", help="seconds between status checks"
    )


def instance_rows(model: Any) -> list[tuple[str, str, str, str, str]]:
    """Table rows for the instances of a model loaded more than once (each its context)."""
    if len(model.instances) < 2:
        return []
    rows = []
    for inst in model.instances:
        state = "loading" if inst.loading else "loaded"
        ctx = str(inst.config.context_length or "")
        rows.append((f"  └ {inst.id}", "", state, "", ctx))
    return rows


def run_action(args: argparse.Namespace, cfg: Any) -> int:
    """Run ``lmtui models ACTION`` (load, unload, download)."""
    import asyncio

    action = {"load": _load, "unload": _unload, "download": _download}[args.models_command]
    watch: dict[str, str] = {}
    try:
        return asyncio.run(action(args, cfg, watch))
    except KeyboardInterrupt:
        if watch.get("job_id"):
            from lmtui.services.downloads import CONTINUES_IN_LMSTUDIO

            print(file=sys.stderr)
            print(f"lmtui: stopped watching. {CONTINUES_IN_LMSTUDIO}", file=sys.stderr)
            print(
                f"  watch again: lmtui models download {watch['model']} --job {watch['job_id']}",
                file=sys.stderr,
            )
            return 130
        raise


def json_text(data: object, *, indent: int | None = 2) -> str:
    """JSON through the output layer: C1 and bidi controls escaped."""
    from lmtui.services.terminal_text import json_text as encode

    return encode(data, indent=indent)


def _inert(text: str) -> str:
    from lmtui.services.terminal_text import make_inert

    return make_inert(text)


async def _load(args: argparse.Namespace, cfg: Any, _watch: dict[str, str]) -> int:
    from lmtui.backend.errors import ModelNotFound
    from lmtui.backend.types import LoadConfig
    from lmtui.services.clients import client_for
    from lmtui.services.model_admin import (
        RememberedLoadOptions,
        check_load_options,
        describe_config,
        load_with_options,
    )

    options = LoadConfig(
        context_length=args.context_length,
        eval_batch_size=args.eval_batch_size,
        flash_attention=args.flash_attention,
        num_experts=args.experts,
        offload_kv_cache_to_gpu=args.kv_on_gpu,
    )
    async with client_for(cfg) as client:
        models = await client.list_models()
        model = next((m for m in models if m.id == args.model), None)
        if model is None:
            raise ModelNotFound(
                f"The server has no model '{args.model}'.",
                "Pick a key from `lmtui models`, or download it: "
                "`lmtui models download <catalog id or URL>`.",
            )
        check_load_options(options, model)
        if not args.json:
            print(f"Loading {_inert(args.model)}…", file=sys.stderr)
        outcome = await load_with_options(client, args.model, options)
    RememberedLoadOptions().put(args.model, options)
    if getattr(args, "json", False):
        print_json({"ok": True, **outcome.to_json()})
        return 0
    print(_inert(outcome.headline()))
    if outcome.applied is not None:
        print(_inert(f"  applied: {describe_config(outcome.applied)}"))
    else:
        print("  applied: (the server did not echo its config)")
    asked = describe_config(options)
    if asked:
        print(_inert(f"  asked:   {asked}"))
    return 0


async def _unload(args: argparse.Namespace, cfg: Any, _watch: dict[str, str]) -> int:
    from lmtui.backend.errors import ConfigError
    from lmtui.services.clients import client_for
    from lmtui.services.model_admin import (
        find_instance,
        loaded_instances,
        unload_instances,
    )

    if bool(args.instance) == bool(args.all):
        raise ConfigError(
            "Say which instance to unload, or --all.",
            "See the loaded instances with `lmtui models`.",
        )
    async with client_for(cfg) as client:
        models = await client.list_models()
        if args.all:
            ids = [inst.id for _, inst in loaded_instances(models)]
        else:
            ids = [find_instance(models, args.instance)[1].id]
        done = await unload_instances(client, ids)
    if getattr(args, "json", False):
        print_json({"ok": True, "unloaded": done})
        return 0
    if not done:
        print("Nothing was loaded.")
    for instance_id in done:
        print(f"Unloaded {_inert(instance_id)}")
    return 0


async def _download(args: argparse.Namespace, cfg: Any, watch: dict[str, str]) -> int:
    from lmtui.backend.downloads import DownloadJob
    from lmtui.backend.errors import ConfigError
    from lmtui.services.clients import client_for
    from lmtui.services.downloads import (
        failure_remedy,
        follow_download,
        progress_line,
        start_download,
        state_line,
        status_changed,
    )

    if not 0 < args.poll <= 60:
        raise ConfigError(f"--poll must be between 0 and 60 seconds, not {args.poll:g}.")
    as_json = bool(getattr(args, "json", False))
    live = sys.stdout.isatty() and not as_json
    async with client_for(cfg) as client:
        if args.job:
            started = await client.download_status(args.model, args.job)
        else:
            started = await start_download(client, args.model, quantization=args.quantization)
        if started.job_id:
            watch.update(job_id=started.job_id, model=args.model)
        job = started
        last: DownloadJob | None = None
        width = 0
        async for job in follow_download(client, started, interval=args.poll):
            if as_json and status_changed(last, job):
                print(json_text({"event": "status", **job.to_json()}, indent=None), flush=True)
            elif as_json:
                pass
            elif live:
                line = _inert(progress_line(job))
                sys.stdout.write("\r" + line.ljust(width))
                sys.stdout.flush()
                width = len(line)
            elif status_changed(last, job):
                print(_inert(state_line(job)), flush=True)
            last = job
        if live:
            sys.stdout.write("\n")
        listed = None
        if job.succeeded:
            models = await client.list_models()
            listed = next((m.id for m in models if m.id == job.model), None)
    if as_json:
        print(json_text({"event": "done", **job.to_json(), "listed_as": listed}, indent=None))
    elif job.succeeded:
        where = (
            f"listed as {listed}" if listed else "see `lmtui models` for the key LM Studio gave it"
        )
        print(_inert(f"Ready: {where}. Load it with `lmtui models load {listed or '<key>'}`."))
    if not job.succeeded:
        if not as_json:
            print(f"lmtui: {_inert(state_line(job))}", file=sys.stderr)
            print(_inert(f"  remedy: {failure_remedy(job)}"), file=sys.stderr)
        return 10
    return 0
