"""Named server profiles: the ``[servers.NAME]`` tables of ``config.toml``.

A profile says where a server is and how to talk to it: base URL, token, timeouts,
default model and preset, and a note for people. Two profiles always exist: ``default``
(the top-level settings of the config file and the environment) and ``local`` (the
embedded llama.cpp server, whose URL is only known once it has started).
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from lmtui.backend.errors import ConfigError
from lmtui.backend.urls import display_url, normalize_base_url, url_problem

DEFAULT = "default"
LOCAL = "local"
RESERVED = (DEFAULT, LOCAL)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_STRINGS = ("base_url", "token_env", "api_token", "model", "preset", "notes")
_TIMEOUTS = ("connect_timeout", "read_timeout")


@dataclass(frozen=True, slots=True)
class ServerProfile:
    """One server lmtui can talk to.

    ``token`` is kept out of ``repr`` so a profile can be logged or shown in a
    traceback without leaking it; ``token_source`` says where it came from
    (``"env:NAME"`` or ``"config"``) and is safe to show.
    """

    name: str
    base_url: str
    token: str | None = field(default=None, repr=False)
    token_source: str | None = None
    token_env: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    model: str | None = None
    preset: str | None = None
    notes: str = ""
    embedded: bool = False

    @property
    def token_problem(self) -> str | None:
        """Why the configured token is missing (its variable is unset), else None."""
        if self.token_env and not self.token:
            return f"the environment variable {self.token_env} is not set"
        return None


def local_profile(connect_timeout: float = 5.0, read_timeout: float = 300.0) -> ServerProfile:
    """The built-in profile of the embedded llama.cpp server (URL known once started)."""
    return ServerProfile(
        name=LOCAL,
        base_url="",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        notes="embedded llama.cpp server, started on demand",
        embedded=True,
    )


def _header_parts(line: str) -> list[str] | None:
    """The dotted key of a ``[table]`` header line, unquoted; None for other lines."""
    match = re.match(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$", line)
    if not match:
        return None
    return [p.strip().strip("\"'") for p in match.group(1).split(".")]


def line_in_profile(path: Path, name: str, key: str | None = None) -> str:
    """Best-effort ``line N`` of ``key`` inside ``[servers.NAME]`` (or of the header)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return "unknown line"
    header_line: int | None = None
    table: list[str] | None = None
    quoted = rf"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"
    for n, line in enumerate(lines, 1):
        parts = _header_parts(line)
        if parts is not None:
            table = parts
            if parts == ["servers", name]:
                header_line = n
            continue
        if table == ["servers", name]:
            if key is not None and re.match(rf"\s*{re.escape(key)}\s*=", line):
                return f"line {n}"
        elif table == ["servers"] and re.match(rf"\s*{quoted}\s*[.=]", line):
            # `name = { ... }` or `name.key = ...` inside a bare [servers] table.
            inline = re.match(rf"\s*{quoted}\s*=", line)
            if key is None or inline or key in line:
                return f"line {n}"
    return f"line {header_line}" if header_line else "unknown line"


def _fail(path: Path, name: str, key: str | None, what: str, remedy: str | None = None) -> NoReturn:
    where = line_in_profile(path, name, key)
    raise ConfigError(f"{path}: {where}: [servers.{name}] {what}", remedy)


def _check_url(path: Path, name: str, url: str) -> str:
    normalized = normalize_base_url(url)
    problem = url_problem(normalized)
    if problem:
        _fail(
            path,
            name,
            "base_url",
            f"'base_url' is not a usable server URL ({problem}): {display_url(url)!r}.",
            'Write it like "http://192.168.1.20:1234" (with or without /v1).',
        )
    return normalized


def parse_profile(
    path: Path,
    name: str,
    table: object,
    *,
    env: Mapping[str, str],
    file_is_private: bool,
    connect_timeout: float,
    read_timeout: float,
) -> ServerProfile:
    """Check one ``[servers.NAME]`` table and resolve its token.

    Unset timeouts take the top-level values given. Raises :class:`ConfigError`
    naming the file, the line and the key for anything wrong.
    """
    if not _NAME.match(name):
        _fail(
            path,
            name,
            None,
            "is not a usable profile name.",
            "Use letters, digits, '-' and '_' (e.g. [servers.gpu-box]).",
        )
    if name in RESERVED:
        what = "the embedded server" if name == LOCAL else "the top-level settings"
        _fail(
            path,
            name,
            None,
            f"'{name}' is built in ({what}); it cannot be redefined.",
            "Pick another name for this profile.",
        )
    if not isinstance(table, dict):
        _fail(path, name, None, "must be a table of settings (base_url = ..., ...).")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in _STRINGS:
            if not isinstance(value, str):
                _fail(path, name, key, f"'{key}' must be a string, not {type(value).__name__}.")
            values[key] = value
        elif key in _TIMEOUTS:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 < value < float("inf")
            ):
                _fail(path, name, key, f"'{key}' must be a positive number of seconds.")
            values[key] = float(value)
        else:
            known = ", ".join((*_STRINGS, *_TIMEOUTS))
            _fail(path, name, key, f"unknown setting '{key}'.", f"Known settings: {known}.")
    if not values.get("base_url"):
        _fail(path, name, "base_url", "has no 'base_url'.", 'Add base_url = "http://host:1234".')
    base_url = _check_url(path, name, values["base_url"])
    token: str | None = None
    token_source: str | None = None
    token_env = values.get("token_env")
    if token_env is not None and "api_token" in values:
        _fail(
            path,
            name,
            "api_token",
            "sets both 'token_env' and 'api_token'.",
            "Keep one: token_env (the name of a variable holding the token) is safer.",
        )
    if token_env is not None:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", token_env):
            _fail(
                path,
                name,
                "token_env",
                f"'token_env' must name an environment variable, not {token_env!r}.",
                'It holds the variable\'s name (token_env = "GPU_LMSTUDIO_TOKEN"), not the token.',
            )
        token = env.get(token_env) or None
        token_source = f"env:{token_env}"
    elif "api_token" in values:
        if not file_is_private:
            _fail(
                path,
                name,
                "api_token",
                "holds api_token but the file is readable by others.",
                f"Run `chmod 600 {path}`, or use token_env with an environment variable.",
            )
        token = values["api_token"] or None
        token_source = "config"
    return ServerProfile(
        name=name,
        base_url=base_url,
        token=token,
        token_source=token_source,
        token_env=token_env,
        connect_timeout=values.get("connect_timeout", connect_timeout),
        read_timeout=values.get("read_timeout", read_timeout),
        model=values.get("model") or None,
        preset=values.get("preset") or None,
        notes=values.get("notes", ""),
    )


def file_is_private(path: Path) -> bool:
    """True when nobody but the owner can read or write ``path``."""
    try:
        return not stat.S_IMODE(path.stat().st_mode) & 0o077
    except OSError:
        return False


def parse_profiles(
    path: Path,
    servers: object,
    *,
    env: Mapping[str, str],
    connect_timeout: float,
    read_timeout: float,
) -> dict[str, ServerProfile]:
    """Every ``[servers.NAME]`` profile of a config file, in file order."""
    if not isinstance(servers, dict):
        raise ConfigError(
            f"{path}: 'servers' must hold tables: [servers.NAME] with base_url = ... inside."
        )
    private = file_is_private(path)
    return {
        name: parse_profile(
            path,
            name,
            table,
            env=env,
            file_is_private=private,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        for name, table in servers.items()
    }
