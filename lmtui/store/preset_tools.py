"""Custom tools defined in a preset: ``[[tools]]`` tables.

Each tool is offered to the model (OpenAI function form). A tool may carry a
canned ``result`` (for testing prompts) and, optionally, a local ``command``: an
argument list, never a shell string, in which ``{name}`` stands for the call's
argument ``name``. A command runs only after the user confirms that call with the
exact argv shown (see :mod:`lmtui.services.tool_commands`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lmtui.backend.types import JSON

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEYS = ("name", "description", "parameters", "result", "command", "timeout", "max_output")
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 600.0
DEFAULT_MAX_OUTPUT = 64 * 1024
MAX_OUTPUT_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PresetTool:
    """One custom tool."""

    name: str
    description: str = ""
    parameters: JSON | None = None  # a JSON Schema for the arguments
    result: str | None = None  # a canned answer
    command: tuple[str, ...] = ()  # argv template; empty: no command bound
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_output: int = DEFAULT_MAX_OUTPUT

    def to_request(self) -> JSON:
        """The ``tools`` entry sent to the server."""
        function: JSON = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters or {"type": "object", "properties": {}}
        return {"type": "function", "function": function}

    def to_toml(self) -> dict[str, Any]:
        """The ``[[tools]]`` table written to a preset file."""
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        if self.parameters is not None:
            data["parameters"] = self.parameters
        if self.result is not None:
            data["result"] = self.result
        if self.command:
            data["command"] = list(self.command)
        if self.timeout_s != DEFAULT_TIMEOUT_S:
            data["timeout"] = self.timeout_s
        if self.max_output != DEFAULT_MAX_OUTPUT:
            data["max_output"] = self.max_output
        return data


def tools_from_data(raw: object) -> tuple[PresetTool, ...]:
    """Parse the ``tools`` array of tables; ValueError with a message fit to show."""
    if not isinstance(raw, list):
        raise ValueError("'tools' must be an array of tables ([[tools]])")
    tools: list[PresetTool] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ValueError(f"tool {n} must be a table")
        tools.append(_tool(n, item))
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise ValueError("two tools have the same name")
    return tuple(tools)


def _tool(n: int, item: dict[str, Any]) -> PresetTool:
    for key in item:
        if key not in _KEYS:
            raise ValueError(f"tool {n}: unknown key '{key}' (known: {', '.join(_KEYS)})")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"tool {n}: 'name' must be 1-64 letters, digits, '_' or '-'")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"tool {name}: 'description' must be a string")
    parameters = item.get("parameters")
    if parameters is not None:
        from lmtui.store.schema_files import check_schema

        try:
            check_schema(parameters)
        except ValueError as exc:
            raise ValueError(f"tool {name}: 'parameters': {exc}") from None
    result = item.get("result")
    if result is not None and not isinstance(result, str):
        raise ValueError(f"tool {name}: 'result' must be a string")
    command = item.get("command", [])
    if isinstance(command, str):
        raise ValueError(
            f"tool {name}: 'command' must be a list of arguments, never a shell string "
            '(e.g. command = ["ls", "-l", "{path}"])'
        )
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise ValueError(f"tool {name}: 'command' must be a list of strings")
    if command and not command[0]:
        raise ValueError(f"tool {name}: 'command' must start with the program to run")
    timeout = item.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError(f"tool {name}: 'timeout' must be a number of seconds")
    if not 0 < timeout <= MAX_TIMEOUT_S:
        raise ValueError(f"tool {name}: 'timeout' must be above 0 and at most {MAX_TIMEOUT_S:g}")
    max_output = item.get("max_output", DEFAULT_MAX_OUTPUT)
    if isinstance(max_output, bool) or not isinstance(max_output, int):
        raise ValueError(f"tool {name}: 'max_output' must be a whole number of bytes")
    if not 0 < max_output <= MAX_OUTPUT_LIMIT:
        raise ValueError(f"tool {name}: 'max_output' must be 1 to {MAX_OUTPUT_LIMIT}")
    return PresetTool(
        name=name,
        description=description,
        parameters=parameters,
        result=result,
        command=tuple(command),
        timeout_s=float(timeout),
        max_output=max_output,
    )
