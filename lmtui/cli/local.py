"""``lmtui local``: serve a GGUF model with the embedded llama.cpp server, in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from lmtui.cli.common import SUPPRESS, add_subcommand, load_effective_config
from lmtui.cli.output import say, warn

if TYPE_CHECKING:
    from lmtui.services.local_server import LocalServer

POLL_S = 0.5


def register(sub: Any) -> None:
    """Add ``local`` to the subcommands."""
    p = add_subcommand(
        sub,
        "local",
        "serve a GGUF model with the embedded llama.cpp server until Ctrl+C",
        description="Serve a GGUF model with the embedded llama.cpp server (OpenAI-compatible "
        "/v1 API on 127.0.0.1) until Ctrl+C. Model: --gguf, else the config's [local] gguf, "
        "else the smallest chat model in LM Studio's models folder, else the bundled SmolLM2.",
    )
    p.add_argument("--gguf", default=SUPPRESS, help="the GGUF model file to serve")
    p.add_argument("--port", type=int, help="port to listen on (default: config, else a free one)")
    p.add_argument("--ctx", type=int, help="context length per request (default: config, 4096)")
    p.add_argument("--parallel", type=int, default=4, help="requests served at once (default: 4)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``lmtui local``: start, print how to use it, block until stopped."""
    from lmtui.backend.errors import ConfigError
    from lmtui.services.local_server import LocalServer, LocalServerFailed, choose_model

    cfg = load_effective_config(args)
    port = args.port if args.port is not None else cfg.local.port
    ctx = args.ctx if args.ctx is not None else cfg.local.context_length
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}.", "Pick another port.")
    if ctx < 64:
        raise ConfigError(f"--ctx must be at least 64 tokens, not {ctx}.", "Try --ctx 4096.")
    if args.parallel < 1:
        raise ConfigError("--parallel must be at least 1.", "Try --parallel 4.")
    choice = choose_model(getattr(args, "gguf", None), cfg.local.gguf)
    warn(f"lmtui: starting llama.cpp with {choice.path} ({choice.source})…")

    with LocalServer.start(
        choice.path, port=port, context_length=ctx, parallel=args.parallel
    ) as server:
        _print_usage(server)
        _serve_until_stopped(server, LocalServerFailed)
    warn("lmtui: the embedded server stopped.")
    return 0


def _print_usage(server: LocalServer) -> None:
    url = server.base_url
    say(f"Serving {server.model_id} at {url}")
    say(f"  model id:  {server.model_id}")
    say(f"  context:   {server.context_length} tokens, {server.parallel} slots")
    say(f"  log:       {server.log_path}")
    say(f'  lmtui:     lmtui --base-url {url} ask "Say hello"')
    say(f"             LMTUI_BASE_URL={url} lmtui")
    say(f"  curl:      curl {url}/v1/models")
    say("Press Ctrl+C to stop.", flush=True)


def _serve_until_stopped(server: LocalServer, failed: type[Exception]) -> None:
    """Block until SIGINT/SIGTERM; raise ``failed`` if the server dies first."""
    stop = threading.Event()

    def on_stop_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # SIGINT explicitly too: a shell starting us in the background leaves it ignored.
    previous = {sig: signal.signal(sig, on_stop_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(POLL_S):
                if not server.alive:
                    raise failed(
                        f"The embedded server stopped unexpectedly (status {server.returncode}).",
                        f"See {server.log_path}; its last lines:\n{server.log_tail()}",
                    )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
