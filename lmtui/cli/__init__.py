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
from typing import Any, NoReturn

from lmtui import __version__
from lmtui.cli.common import add_connection_args, fail, not_utf8, record_id
from lmtui.cli.output import OutputFailed, warn

# Subcommand modules, each with ``register(subparsers)``. Order is the help order.
SUBCOMMANDS = ("ask", "models", "doctor", "presets", "history", "batch", "local", "servers")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or only ``command``'s.

    Args:
        command: a subcommand's name, to register that one alone (what ``main`` does
            when the command line names one); ``None`` registers them all.

    Returns:
        The parser. For ``command``'s arguments it parses and prints exactly what the
        whole parser does: a subcommand's parser and help do not depend on the others.
    """
    parser = argparse.ArgumentParser(
        prog="lmtui",
        description="Chat and workbench for LM Studio and OpenAI-compatible servers. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"lmtui {__version__}")
    _add_top_level(parser, id_type=record_id)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if command is None else (command,):
        try:
            module = importlib.import_module(f"lmtui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lmtui.cli.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def _add_top_level(parser: argparse.ArgumentParser, *, id_type: Any) -> None:
    """The options before the command (``--help`` and ``--version`` aside)."""
    add_connection_args(parser)
    parser.add_argument("--preset", help="preset to start with (see `lmtui presets list`)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="start the embedded llama.cpp server and use it",
    )
    parser.add_argument("--gguf", help="with --local: the GGUF model file to serve")
    parser.add_argument(
        "--open", type=id_type, metavar="ID", help="open conversation ID from history"
    )
    parser.add_argument(
        "--new",
        action="store_true",
        help="start with a new chat, not the conversation open last time",
    )


class _Unsure(Exception):
    """The peek could not read the command line; the whole parser will say why."""


class _Peek(argparse.ArgumentParser):
    """The top-level options alone, to find the command without importing any subcommand."""

    def error(self, message: str) -> NoReturn:
        raise _Unsure(message)


def command_named(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when its parser alone can parse ``argv``.

    The peek knows the same top-level option strings as the whole parser (``--help``
    and ``--version`` as flags), so it consumes the same words before the command
    and finds the same one.

    Args:
        argv: the command line without the program name.

    Returns:
        The subcommand's name; ``None`` for no command, an unknown one, ``--help`` or
        ``--version`` before it, or a line the peek cannot parse: the whole parser then
        parses it (and lists every command where it prints help or an error).
    """
    peek = _Peek(prog="lmtui", add_help=False)
    peek.add_argument("-h", "--help", action="store_true")
    peek.add_argument("--version", action="store_true")
    _add_top_level(peek, id_type=str)
    # As the subcommands' action: the first word that is not an option's, and all after.
    peek.add_argument("command", nargs=argparse.PARSER)
    try:
        found, _ = peek.parse_known_args(argv)
    except _Unsure:  # no command, or a line the whole parser will refuse
        return None
    name = found.command[0]
    if found.help or found.version or name not in SUBCOMMANDS:
        return None
    return str(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lmtui`` console script."""
    import os

    if argv is None:
        argv = sys.argv[1:]
    # Only the named command's module is imported (`lmtui ask` needs none of the others).
    parser = build_parser(command_named(argv))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        problem = not_utf8(args, os.environ)
        if problem is not None:
            raise problem
        if handler is None:
            from lmtui.cli.tui import run_tui

            return run_tui(args)
        _interrupt_on_hangup()
        result: int = handler(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return result
    except KeyboardInterrupt:
        warn("lmtui: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`lmtui ask ... | head`): not an error worth a trace.
        _detach_stdout()
        return 0
    except OSError as exc:
        if not _is_output_failure(exc):
            return _internal_error(exc, args)
        _detach_stdout()
        return fail(
            OutputFailed(
                f"Cannot write the output: {exc.strerror or exc}.",
                "Check the disk (or the device) standard output goes to.",
            )
        )
    except Exception as exc:
        from lmtui.backend.errors import LmtuiError

        if isinstance(exc, LmtuiError):
            return fail(exc, json_output=bool(getattr(args, "json", False)))
        return _internal_error(exc, args)


def _interrupt_on_hangup() -> None:
    """SIGTERM and SIGHUP (a dropped SSH session) stop a command the way Ctrl+C does.

    The partial reply is then saved as stopped instead of the process dying mid-write.
    """
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, interrupt)


def _is_output_failure(exc: OSError) -> bool:
    """True when standard output itself failed (ENOSPC on /dev/full, EIO on a gone tty)."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EDQUOT, errno.EFBIG)


def _detach_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush cannot fail (and print) again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _internal_error(exc: BaseException, args: object) -> int:
    """The last guard of "never a traceback": one line, and how to see the details."""
    import os

    if os.environ.get("LMTUI_DEBUG"):
        raise exc
    warn(f"lmtui: internal error: {type(exc).__name__}: {exc}")
    warn("  remedy: run again with LMTUI_DEBUG=1 for the details, and report it.")
    return 70
