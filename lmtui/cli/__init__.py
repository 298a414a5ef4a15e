"""The ``lmtui`` command: the TUI by default, plus headless subcommands.

Each subcommand lives in its own module under ``lmtui.cli`` and exposes
``register(subparsers)``; imports are deferred so ``lmtui ask`` starts without
loading Textual or anything it does not use.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lmtui import __version__
from lmtui.cli.common import add_connection_args, fail

# Subcommand modules, each with ``register(subparsers)``. Order is the help order.
SUBCOMMANDS = ("ask", "models", "doctor", "presets", "history", "batch", "local", "servers")


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="lmtui",
        description="Chat and workbench for LM Studio and OpenAI-compatible servers. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"lmtui {__version__}")
    add_connection_args(parser)
    parser.add_argument("--preset", help="preset to start with (see `lmtui presets list`)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="start the embedded llama.cpp server and use it",
    )
    parser.add_argument("--gguf", help="with --local: the GGUF model file to serve")
    parser.add_argument("--open", type=int, metavar="ID", help="open conversation ID from history")
    parser.add_argument(
        "--new",
        action="store_true",
        help="start with a new chat, not the conversation open last time",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"lmtui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lmtui.cli.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lmtui`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from lmtui.cli.tui import run_tui

            return run_tui(args)
        result: int = handler(args)
        return result
    except KeyboardInterrupt:
        print("lmtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`lmtui ask ... | head`): not an error worth a trace.
        return 0
    except Exception as exc:
        from lmtui.backend.errors import LmtuiError

        if isinstance(exc, LmtuiError):
            return fail(exc, json_output=bool(getattr(args, "json", False)))
        raise
