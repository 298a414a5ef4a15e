"""The config file, environment overrides and their precedence.

Precedence, highest first: command-line flags, environment (``LMTUI_*``), the
config file, built-in defaults. A broken config file is reported with its path,
line and column and is never rewritten.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmtui.backend.errors import ConfigError
from lmtui.backend.native_chat import Integration
from lmtui.backend.urls import DEFAULT_BASE_URL, display_url, normalize_base_url, url_problem
from lmtui.store import paths
from lmtui.store.integrations import parse_integrations, parse_native_mode
from lmtui.store.profiles import DEFAULT, LOCAL, ServerProfile, local_profile, parse_profiles
from lmtui.store.safe_files import read_bounded

if TYPE_CHECKING:
    import tomllib


@dataclass(frozen=True, slots=True)
class LocalConfig:
    """The embedded llama.cpp server."""

    gguf: str | None = None
    port: int = 0
    context_length: int = 4096
    # Small bundled models loop; a reply stops here unless a preset or the panel says otherwise.
    max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class Config:
    """Everything lmtui reads from the config file and the environment."""

    base_url: str = DEFAULT_BASE_URL
    api_token: str | None = None
    model: str | None = None
    embedding_model: str | None = None  # for semantic search of the history
    preset: str | None = None
    theme: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    save_history: bool = True
    stop_repeating_replies: bool = False  # stop a reply the repetition check flags
    reopen_last: bool = True  # start in the conversation (and draft) open last time
    mouse: bool = True  # mouse reporting (clicks, wheel); off leaves selection to the terminal
    compact_output: bool = True  # rewrite the TUI's terminal output into fewer bytes
    keys: dict[str, str] = field(default_factory=dict)
    local: LocalConfig = field(default_factory=LocalConfig)
    path: Path | None = None
    token_source: str | None = None  # "env:NAME" or "config", never the token itself
    # Every profile by name, "default" first and "local" last (see lmtui.store.profiles).
    servers: dict[str, ServerProfile] = field(default_factory=dict)
    server: str = DEFAULT  # the profile these settings came from
    # LM Studio's /api/v1/chat: "auto" (when offered), "on" (required) or "off".
    native_chat: str = "auto"
    # [integrations.NAME]: LM Studio MCP integrations a preset or chat can enable.
    integrations: dict[str, Integration] = field(default_factory=dict)

    def with_overrides(self, **values: Any) -> Config:
        """A copy with every non-None value replaced."""
        clean = {k: v for k, v in values.items() if v is not None}
        if "base_url" in clean:
            clean["base_url"] = checked_base_url(clean["base_url"], "--base-url")
        return replace(self, **clean)

    def profiles(self) -> dict[str, ServerProfile]:
        """Every server profile, ``default`` first and the embedded ``local`` last."""
        found = dict(self.servers)
        if DEFAULT not in found:
            found = {DEFAULT: default_profile(self), **found}
        if LOCAL not in found:
            found[LOCAL] = local_profile(self.connect_timeout, self.read_timeout)
        return found

    def with_server(self, name: str) -> Config:
        """These settings switched to profile ``name`` (its URL, token, timeouts, model, preset).

        A profile's token is only ever its own, and its model replaces the default one
        (a model id belongs to a server). ``local`` keeps the URL: the embedded server's
        is only known once it has started. Unknown names raise :class:`ConfigError`.
        """
        found = self.profiles()
        profile = found.get(name)
        if profile is None:
            raise ConfigError(
                f"No server profile named '{name}'.",
                f"Profiles: {', '.join(found)}. Add [servers.{name}] to "
                f"{self.path or paths.config_file()}, or see `lmtui servers`.",
            )
        base_url = profile.base_url or self.base_url
        return replace(
            self,
            server=name,
            base_url=base_url,
            api_token=profile.token,
            token_source=profile.token_source,
            connect_timeout=profile.connect_timeout,
            read_timeout=profile.read_timeout,
            model=profile.model,
            preset=profile.preset or self.preset,
        )


def checked_base_url(url: str, where: str) -> str:
    """``url`` normalised, or :class:`ConfigError` saying ``where`` it came from and why not."""
    normalized = normalize_base_url(url)
    problem = url_problem(normalized)
    if problem:
        raise ConfigError(
            f"{where} is not a usable server URL ({problem}): {display_url(url)!r}.",
            'Write it like "http://192.168.1.20:1234" (with or without /v1).',
        )
    return normalized


def default_profile(cfg: Config) -> ServerProfile:
    """The implicit ``default`` profile: the top-level settings of ``cfg``."""
    return ServerProfile(
        name=DEFAULT,
        base_url=cfg.base_url,
        token=cfg.api_token,
        token_source=cfg.token_source,
        connect_timeout=cfg.connect_timeout,
        read_timeout=cfg.read_timeout,
        model=cfg.model,
        preset=cfg.preset,
        notes="the top-level settings",
    )


_KNOWN_TOP: dict[str, type | tuple[type, ...]] = {
    "base_url": str,
    "api_token": str,
    "model": str,
    "embedding_model": str,
    "preset": str,
    "theme": str,
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "save_history": bool,
    "stop_repeating_replies": bool,
    "reopen_last": bool,
    "mouse": bool,
    "compact_output": bool,
    "native_chat": str,
}


def _decode_error_location(exc: tomllib.TOMLDecodeError) -> str:
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    if match:
        return f"line {match.group(1)}, column {match.group(2)}"
    return "unknown position"


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file or raise :class:`ConfigError` naming the file and line."""
    import tomllib  # here: with no config file (`lmtui ask` in a script) it is never loaded

    try:
        raw = read_bounded(path)  # a FIFO or /dev/zero is refused, not waited on or read
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path}: {_decode_error_location(exc)}: {reason}.") from None


def _line_of(path: Path, key: str) -> str:
    """Best-effort line number of ``key = ...`` for error messages."""
    try:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.match(rf"\s*{re.escape(key)}\s*=", line):
                return f"line {n}"
    except OSError:
        pass
    return "top level"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if any) and apply environment overrides."""
    env = os.environ if env is None else env
    if path is None:
        override = env.get("LMTUI_CONFIG")
        path = Path(override) if override else paths.config_file()
    cfg = Config(path=path)
    if path.exists():
        cfg = _apply_file(cfg, path, read_toml(path), env)
    base = env.get("LMTUI_BASE_URL")
    if base:
        cfg = replace(cfg, base_url=checked_base_url(base, "LMTUI_BASE_URL"))
    for name in ("LMTUI_API_TOKEN", "LM_API_TOKEN"):
        token = env.get(name)
        if token:
            cfg = replace(cfg, api_token=token, token_source=f"env:{name}")
            break
    model = env.get("LMTUI_MODEL")
    if model:
        cfg = replace(cfg, model=model)
    native_chat = env.get("LMTUI_NATIVE_CHAT")
    if native_chat:
        cfg = replace(cfg, native_chat=parse_native_mode(native_chat, "LMTUI_NATIVE_CHAT"))
    named = {k: v for k, v in cfg.servers.items() if k not in (DEFAULT, LOCAL)}
    profiles = {
        DEFAULT: default_profile(cfg),
        **named,
        LOCAL: local_profile(cfg.connect_timeout, cfg.read_timeout),
    }
    return replace(cfg, servers=profiles)


def _apply_file(cfg: Config, path: Path, data: dict[str, Any], env: Mapping[str, str]) -> Config:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("keys", "local", "servers", "integrations"):
            continue
        expected = _KNOWN_TOP.get(key)
        if expected is None:
            raise ConfigError(f"{path}: {_line_of(path, key)}: unknown setting '{key}'.")
        wrong_bool = expected is not bool and isinstance(value, bool)
        if not isinstance(value, expected) or wrong_bool:
            raise ConfigError(
                f"{path}: {_line_of(path, key)}: "
                f"'{key}' has the wrong type ({type(value).__name__})."
            )
        values[key] = value
    if "base_url" in values:
        values["base_url"] = checked_base_url(
            values["base_url"], f"{path}: {_line_of(path, 'base_url')}: 'base_url'"
        )
    if "native_chat" in values:
        parse_native_mode(values["native_chat"], f"{path}: {_line_of(path, 'native_chat')}")
    if "integrations" in data:
        values["integrations"] = parse_integrations(path, data["integrations"], env)
    for key in ("connect_timeout", "read_timeout"):
        if key in values:
            # NaN compares false both ways: accept only a finite positive number.
            if not 0 < values[key] < math.inf:
                raise ConfigError(
                    f"{path}: {_line_of(path, key)}: '{key}' must be a positive number of seconds."
                )
            values[key] = float(values[key])
    if "api_token" in values:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{path}: holds api_token but is readable by others (mode {mode:o}).",
                f"Run `chmod 600 {path}`, or put the token in LMTUI_API_TOKEN instead.",
            )
        values["token_source"] = "config"
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ConfigError(
            f"{path}: {_line_of(path, 'keys')}: [keys] maps action names to key strings."
        )
    local = data.get("local", {})
    if not isinstance(local, dict):
        raise ConfigError(f"{path}: [local] must be a table.")
    local_cfg = LocalConfig()
    for key, value in local.items():
        if key == "gguf" and isinstance(value, str):
            local_cfg = replace(local_cfg, gguf=value)
        elif key == "port" and isinstance(value, int) and 0 <= value < 65536:
            local_cfg = replace(local_cfg, port=value)
        elif key == "context_length" and isinstance(value, int) and value > 0:
            local_cfg = replace(local_cfg, context_length=value)
        elif key == "max_tokens" and isinstance(value, int) and (value == -1 or value > 0):
            local_cfg = replace(local_cfg, max_tokens=value)
        else:
            raise ConfigError(f"{path}: {_line_of(path, key)}: bad [local] setting '{key}'.")
    cfg = replace(cfg, **values, keys=dict(keys), local=local_cfg)
    servers = parse_profiles(
        path,
        data.get("servers", {}),
        env=env,
        connect_timeout=cfg.connect_timeout,
        read_timeout=cfg.read_timeout,
    )
    return replace(cfg, servers=servers)
