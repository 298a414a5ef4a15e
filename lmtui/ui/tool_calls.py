"""Tool calls in the transcript: one collapsible block per call.

The title names the tool, its provider and how it ended; inside are the arguments and
the output or the failure reason. All of it comes from a model or a server, so it goes
through :func:`make_inert` before it is drawn.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Collapsible, Static

from lmtui.backend.types import ToolCall
from lmtui.services.terminal_text import make_inert

OUTPUT_LIMIT = 4000  # characters shown; the whole output stays in history and exports


def tool_title(call: ToolCall) -> str:
    """``Tool: name · provider · ok|failed|running``."""
    state = (
        "failed" if call.failure is not None else "ok" if call.output is not None else "running…"
    )
    provider = f" · {call.provider}" if call.provider else ""
    return make_inert(f"Tool: {call.name}{provider} · {state}")


def tool_body(call: ToolCall) -> str:
    """Arguments, then the output or the failure reason."""
    lines = [f"arguments: {call.arguments or '(none)'}"]
    if call.failure is not None:
        lines.append(f"failure: {call.failure}")
    elif call.output is not None:
        output = call.output
        if len(output) > OUTPUT_LIMIT:
            output = output[:OUTPUT_LIMIT] + f"… ({len(call.output)} characters in all)"
        lines.append(f"output: {output}")
    return make_inert("\n".join(lines))


class ToolCallBlock(Collapsible):
    """One tool call, collapsed to its title until opened."""

    DEFAULT_CSS = """
    ToolCallBlock { height: auto; }
    ToolCallBlock.-failed CollapsibleTitle { color: $error; }
    """

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self._body = Static(Content(tool_body(call)), classes="tool-call-body")
        super().__init__(self._body, title=tool_title(call), collapsed=True, classes="tool-call")
        self.set_class(call.failure is not None, "-failed")

    def update_call(self, call: ToolCall) -> None:
        """Show the call's latest state."""
        self.call = call
        self.title = tool_title(call)
        self._body.update(Content(tool_body(call)))
        self.set_class(call.failure is not None, "-failed")
