"""Pieces every subcommand shares: connection flags, config, errors, output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lmtui.backend.errors import LmtuiError
from lmtui.cli.output import print_json as print_json  # subcommands import it from here
from lmtui.cli.output import warn

SUPPRESS = argparse.SUPPRESS


def add_connection_args(parser: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """--base-url, --model and --server, valid before or after the subcommand."""
    default = SUPPRESS if sub else None
    parser.add_argument(
        "--base-url",
        default=default,
        help="server URL, with or without /v1 (default: config, LMTUI_BASE_URL, http://localhost:1234)",
    )
    parser.add_argument("--model", "-m", default=default, help="model id to use")
    parser.add_argument(
        "--server", default=default, help="named server profile from config.toml (or LMTUI_SERVER)"
    )
    parser.add_argument(
        "--config", default=default, help="config file to read instead of the default"
    )


SQLITE_MAX_INT = 2**63 - 1


def record_id(text: str) -> int:
    """An argparse type for a history id: an integer SQLite can hold, else a usage error.

    Args:
        text: the argument as typed.

    Returns:
        The id as an int (1 to 2**63 - 1).
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}") from None
    if not 1 <= value <= SQLITE_MAX_INT:
        raise argparse.ArgumentTypeError(f"no such id: {text} (ids are 1 to {SQLITE_MAX_INT})")
    return value


def add_subcommand(
    sub: Any, name: str, help_text: str, *, description: str | None = None
) -> argparse.ArgumentParser:
    """Create a subcommand parser that also accepts the connection flags."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=description or help_text
    )
    add_connection_args(parser, sub=True)
    return parser


def load_effective_config(args: argparse.Namespace) -> Any:
    """The config after file, environment, server profile and command-line overrides.

    ``--server NAME`` (or ``LMTUI_SERVER``) applies a profile over the file and the
    environment; explicit flags still win. ``--server local`` means ``--local``.
    """
    import os

    from lmtui.store.config import load_config

    config_path = getattr(args, "config", None)
    cfg = load_config(Path(config_path) if config_path else None)
    server = getattr(args, "server", None) or os.environ.get("LMTUI_SERVER") or None
    if server:
        cfg = cfg.with_server(server)
        if cfg.server == "local":
            args.local = True
        problem = cfg.profiles()[cfg.server].token_problem
        if problem:
            warn(f"lmtui: warning: server '{cfg.server}': no token sent, {problem}.")
    cfg = cfg.with_overrides(
        base_url=getattr(args, "base_url", None),
        model=getattr(args, "model", None),
        preset=getattr(args, "preset", None),
    )
    if cfg.api_token and not getattr(args, "local", False):
        from lmtui.services.servers import insecure_token_warning, profile_of

        warning = insecure_token_warning(profile_of(cfg))
        if warning:
            warn(f"lmtui: warning: {warning}")
    return cfg


@contextmanager
def local_server_if_asked(args: argparse.Namespace, cfg: Any) -> Iterator[Any]:
    """Start the embedded server when ``--local`` is given; yield the config to use."""
    if not getattr(args, "local", False):
        yield cfg
        return
    from lmtui.services.local_server import LocalServer, choose_model

    choice = choose_model(getattr(args, "gguf", None), cfg.local.gguf)
    with LocalServer.start(
        choice.path, port=cfg.local.port, context_length=cfg.local.context_length
    ) as server:
        # The configured model names a model on the usual server, not this one: only an
        # explicit --model is passed through.
        model = getattr(args, "model", None) or server.model_id
        yield cfg.with_overrides(base_url=server.base_url, model=model)


def read_stdin_text() -> str:
    """Standard input as text; ConfigError (not a traceback) when it is not UTF-8."""
    from lmtui.backend.errors import ConfigError

    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Standard input is not UTF-8 text (byte 0x{raw[exc.start]:02X} at {exc.start}).",
            "Convert it first, e.g. `iconv -f latin1 -t utf-8 FILE | lmtui ask ...`.",
        ) from None


def not_utf8(args: argparse.Namespace, environ: Mapping[str, str]) -> LmtuiError | None:
    """An error for the first argument or lmtui variable that is not UTF-8, if any.

    Python keeps such bytes as lone surrogates; passed on they would fail later, deep in
    the HTTP client or the history database.
    """
    from lmtui.backend.errors import ConfigError

    def bad(text: str) -> bool:
        return any("\udc80" <= ch <= "\udcff" for ch in text)

    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and bad(v) for v in values):
            flag = name.replace("_", "-")
            return ConfigError(
                f"The {flag} argument is not UTF-8 text.",
                "Pass UTF-8 (convert with iconv), or pipe the text in as UTF-8.",
            )
    for name, value in environ.items():
        if (name.startswith("LMTUI_") or name == "LM_API_TOKEN") and bad(value):
            return ConfigError(f"{name} is not UTF-8 text.", f"Set {name} to UTF-8 text.")
    return None


def checked_params(values: dict[str, Any]) -> Any:
    """``values`` (from flags) as SamplingParams; ConfigError for ``-t nan``, ``--top-p 5``…"""
    from lmtui.backend.errors import ConfigError
    from lmtui.backend.params import validate_params

    try:
        return validate_params(values)
    except ValueError as exc:
        raise ConfigError(f"{exc}.", "See the ranges with --help.") from None


def fail(exc: LmtuiError, *, json_output: bool = False) -> int:
    """Report an error in one line plus its remedy; return its exit code."""
    if json_output:
        print_json({"ok": False, **exc.to_json()})
    warn(f"lmtui: {exc.message}")
    if exc.remedy:
        warn(f"  remedy: {exc.remedy}")
    return exc.exit_code
