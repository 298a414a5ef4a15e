"""The request inspector: the exact JSON sent and received, and "copy as" snippets.

``InspectorScreen(base_url, request, response, with_token=...)`` shows one
request. Everything shown or copied goes through :func:`lmtui.services.inspector.redact`
and the snippets read the token from ``$LMTUI_API_TOKEN``, so a token never
appears on screen or on the clipboard. Copies use ``App.copy_to_clipboard``
(OSC 52), which works over SSH.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from lmtui.services.chat import Entry
from lmtui.services.clients import Exchange
from lmtui.services.inspector import SNIPPETS, pretty, redact
from lmtui.services.reply_extras import stats_figures
from lmtui.services.terminal_text import make_inert

SNIPPET_NAMES = {"curl": "curl", "python": "Python (httpx)", "typescript": "TypeScript (fetch)"}


def guess_path(request: dict[str, Any] | None) -> str:
    """The endpoint a request body was most likely sent to."""
    if request is None:
        return "/v1/models"
    if "messages" in request:
        return "/v1/chat/completions"
    if "prompt" in request:
        return "/v1/completions"
    if "input" in request:
        return "/v1/embeddings"
    return "/v1/chat/completions"


def entry_received(entry: Entry) -> dict[str, Any]:
    """What came back for a chat entry, as the stream was assembled into it."""
    return {
        "model": entry.model_used,
        "content": entry.content,
        "reasoning": entry.reasoning or None,
        "finish_reason": entry.finish_reason.value if entry.finish_reason else None,
        "usage": asdict(entry.usage) if entry.usage else None,
        "timings": entry.timings_json(),
        "state": entry.state,
        "error": entry.error,
        **entry_native_facts(entry),
    }


def entry_native_facts(entry: Entry) -> dict[str, Any]:
    """Which path a reply took and why, and what only LM Studio's /api/v1/chat reports."""
    extras = entry.extras
    facts: dict[str, Any] = {}
    if extras.route:
        facts["path"] = extras.route
    if extras.response_id:
        facts["response_id"] = extras.response_id
    if extras.load_seconds is not None:
        facts["model_load_s"] = extras.load_seconds
    if extras.prompt_seconds is not None:
        facts["prompt_processing_s"] = extras.prompt_seconds
    if extras.server_stats is not None:
        facts["lm_studio_stats"] = dict(stats_figures(extras.server_stats))
    if extras.tool_calls:
        facts["tool_calls"] = [c.to_json() for c in extras.tool_calls]
    if entry.answer_note:
        facts["note"] = entry.answer_note
    return facts


def exchange_received(ex: Exchange) -> object:
    """What came back for a logged exchange: the exact body, or the stream's summary."""
    resp = ex.response
    if isinstance(resp, dict) and resp.get("streamed"):
        return {
            "status": ex.status,
            "model": ex.model_used,
            "finish_reason": ex.finish_reason,
            "usage": asdict(ex.usage) if ex.usage else None,
            "ttft_s": ex.ttft_s,
            "tokens_per_second": ex.tokens_per_second,
            "duration_s": ex.duration_s,
            "stream": resp,
            "error": ex.error,
        }
    if resp is None and ex.error:
        return {"status": ex.status, "error": ex.error}
    return resp


def _as_text(value: object) -> str:
    if value is None:
        return "(nothing)"
    if isinstance(value, str):
        return value
    return pretty(value)


class InspectorScreen(ModalScreen[None]):
    """One request: what was sent, what came back, and keys to copy it as code."""

    DEFAULT_CSS = """
    InspectorScreen {
        align: center middle;
        background: $background 60%;

        #inspector-box {
            width: 100%;
            max-width: 120;
            height: 100%;
            border: round $accent;
            border-title-color: $text-accent;
            background: $surface;
            padding: 0;
        }
        #inspector-head {
            height: auto;
            padding: 0 1;
            color: $text-muted;
        }
        TabbedContent {
            height: 1fr;
        }
        TabPane {
            padding: 0;
        }
        .inspector-scroll {
            height: 1fr;
            padding: 0 1;
        }
        .inspector-text {
            width: auto;
            height: auto;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("c", "copy('curl')", "Copy curl"),
        Binding("p", "copy('python')", "Copy Python"),
        Binding("t", "copy('typescript')", "Copy TS"),
        Binding("j", "copy('json')", "Copy JSON", show=False),
    ]

    def __init__(
        self,
        base_url: str,
        request: dict[str, Any] | None,
        response: object,
        *,
        with_token: bool,
        path: str | None = None,
        method: str = "POST",
        title: str = "Request inspector",
    ) -> None:
        super().__init__()
        self.base_url = base_url
        self.request = request
        self.response = response
        self.with_token = with_token
        self.path = path or guess_path(request)
        self.method = method
        self.title_text = title

    @classmethod
    def for_entry(cls, base_url: str, entry: Entry, with_token: bool) -> InspectorScreen:
        """Inspect a chat reply: the body sent, and the reply as assembled from the stream."""
        native = entry.extras.native is True
        title = "Request inspector"
        if entry.extras.route:
            title += " · " + entry.extras.route
        return cls(
            base_url,
            entry.request_json,
            entry_received(entry),
            with_token=with_token,
            path="/api/v1/chat" if native else "/v1/chat/completions",
            title=title,
        )

    @classmethod
    def for_exchange(cls, base_url: str, ex: Exchange, with_token: bool) -> InspectorScreen:
        """Inspect one logged exchange of the request log."""
        request = ex.request if isinstance(ex.request, dict) else None
        return cls(
            base_url,
            request,
            exchange_received(ex),
            with_token=with_token,
            path=ex.path,
            method=ex.method,
        )

    # ---- content ------------------------------------------------------------------

    def snippet(self, kind: str) -> str | None:
        """The request as ``curl``/``python``/``typescript`` code, or None without a body."""
        if self.request is None:
            return None
        # Name the variable the token really came from (LM_API_TOKEN, a profile's token_env).
        source = getattr(getattr(self.app, "cfg", None), "token_source", None)
        return SNIPPETS[kind](
            self.base_url, self.path, self.request, with_token=self.with_token, token_source=source
        )

    def sent_text(self) -> str:
        """The redacted, indented request body."""
        return _as_text(None if self.request is None else redact(self.request))

    def received_text(self) -> str:
        """The redacted, indented answer."""
        return _as_text(redact(self.response))

    def compose(self) -> ComposeResult:
        box = Vertical(id="inspector-box")
        box.border_title = self.title_text
        with box:
            head = f"{self.method} {self.base_url.rstrip('/')}{self.path}"
            yield Static(Content(make_inert(head)), id="inspector-head")
            with TabbedContent(id="inspector-tabs"):
                yield self._pane("Sent", "sent", self.sent_text())
                yield self._pane("Received", "received", self.received_text())
                for kind, label in SNIPPET_NAMES.items():
                    code = self.snippet(kind) or "(no request body: nothing to repeat)"
                    yield self._pane(label, kind, code)
        yield Footer(compact=True)

    @staticmethod
    def _pane(label: str, pane_id: str, text: str) -> TabPane:
        body = Static(Content(make_inert(text)), classes="inspector-text", id=f"text-{pane_id}")
        return TabPane(
            label, VerticalScroll(body, classes="inspector-scroll"), id=f"pane-{pane_id}"
        )

    # ---- actions ------------------------------------------------------------------

    def action_copy(self, kind: str) -> None:
        """Copy the request as code (or its JSON) to the clipboard."""
        if kind == "json":
            if self.request is None:
                self.notify("This request had no body.", severity="warning")
                return
            self.app.copy_to_clipboard(self.sent_text())
            self.notify("Copied the request JSON")
            return
        code = self.snippet(kind)
        if code is None:
            self.notify("This request had no body: nothing to repeat.", severity="warning")
            return
        self.app.copy_to_clipboard(code)
        self.notify(f"Copied as {SNIPPET_NAMES[kind]}")

    def action_close(self) -> None:
        """Close the inspector."""
        self.dismiss(None)
