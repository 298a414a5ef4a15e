"""LM Studio integrations (MCP) named in the config file, and the ``native_chat`` setting.

::

    native_chat = "auto"            # "on" | "off"

    [integrations.playwright]        # a server from LM Studio's mcp.json
    plugin = "mcp/playwright"
    allowed_tools = ["browser_navigate"]

    [integrations.huggingface]       # an ephemeral MCP server
    server_url = "https://huggingface.co/mcp"
    allowed_tools = ["model_search"]
    headers_env = { Authorization = "HF_MCP_AUTH" }   # header values from the environment
    headers_file = "~/.config/lmtui/hf.headers"        # or "Name: value" lines, mode 0600

Header values are secrets like the API token: they come only from the environment or a
private file, and only the wire request carries them.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lmtui.backend.errors import ConfigError
from lmtui.backend.native_chat import Integration

NATIVE_MODES = ("auto", "on", "off")
_KEYS = ("plugin", "server_url", "allowed_tools", "headers_env", "headers_file")


def parse_native_mode(value: object, where: str) -> str:
    """Check a ``native_chat`` value."""
    if value not in NATIVE_MODES:
        raise ConfigError(f"{where}: native_chat must be one of {', '.join(NATIVE_MODES)}.")
    return str(value)


def parse_integrations(path: Path, data: object, env: Mapping[str, str]) -> dict[str, Integration]:
    """The ``[integrations.NAME]`` tables of the config file, by name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [integrations] must hold tables, one per integration.")
    out: dict[str, Integration] = {}
    for name, table in data.items():
        where = f"{path}: [integrations.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table.")
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})."
            )
        out[name] = _integration(name, table, where, env)
    return out


def _integration(
    name: str, table: dict[str, Any], where: str, env: Mapping[str, str]
) -> Integration:
    tools = table.get("allowed_tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ConfigError(f"{where}: allowed_tools must be a list of tool names.")
    plugin = table.get("plugin")
    url = table.get("server_url")
    if (plugin is None) == (url is None):
        raise ConfigError(f'{where}: give either plugin = "mcp/<label>" or server_url.')
    if plugin is not None:
        if not isinstance(plugin, str) or not plugin.startswith("mcp/"):
            raise ConfigError(f'{where}: plugin must look like "mcp/<label>" (from mcp.json).')
        if "headers_env" in table or "headers_file" in table:
            raise ConfigError(f"{where}: headers only go to ephemeral servers (server_url).")
        return Integration(plugin_id=plugin, allowed_tools=tuple(tools))
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: server_url must be an http(s) URL.")
    headers: dict[str, str] = {}
    from_env = table.get("headers_env", {})
    if not isinstance(from_env, dict) or not all(isinstance(v, str) for v in from_env.values()):
        raise ConfigError(f"{where}: headers_env maps header names to environment variable names.")
    for header, variable in from_env.items():
        value = env.get(variable)
        if not value:
            raise ConfigError(
                f"{where}: header {header} wants ${variable}, which is not set.",
                f"Export {variable}, or remove the header.",
            )
        headers[header] = value
    if "headers_file" in table:
        headers.update(_headers_file(table["headers_file"], where))
    return Integration(
        server_label=name, server_url=url, allowed_tools=tuple(tools), headers=headers
    )


def _headers_file(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: headers_file must be a path.")
    path = Path(value).expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read headers_file {path}: {exc}.") from None
    if mode & 0o077:
        raise ConfigError(
            f"{where}: {path} holds MCP headers but is readable by others (mode {mode:o}).",
            f"Run `chmod 600 {path}`.",
        )
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, val = line.partition(":")
        if not sep or not key.strip():
            # The line may hold a secret: name its number only.
            raise ConfigError(f'{where}: {path} line {number} is not "Name: value".')
        headers[key.strip()] = val.strip()
    return headers
