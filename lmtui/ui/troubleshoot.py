"""The troubleshooting panel: server health, loaded models, findings and the last requests.

``TroubleshootScreen(client, log, model=...)`` checks the server when it opens, on
``r``, and every ``refresh_every`` seconds while it is the screen on top — never
otherwise: the timer pauses while another screen covers it and stops when it
closes. Each check runs in a worker with the client's own timeouts, so a hung
server shows "checking…" and the keyboard keeps working.

Enter on a row of the request table opens the :class:`InspectorScreen` for it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from lmtui.backend.types import ServerKind
from lmtui.services.clients import Client, Exchange
from lmtui.services.doctor import Diagnosis, Finding, diagnose, exchange_findings, runtime_info
from lmtui.services.inspector import RequestLog
from lmtui.services.terminal_text import make_inert
from lmtui.ui.inspector_screen import InspectorScreen

REFRESH_SECONDS = 10.0
MAX_ROWS = 50
_CSS_FILE = Path(__file__).with_suffix(".tcss")
_LATENCY = re.compile(r"\b\d+(?:\.\d+)? ms\b")
_KIND_NAMES = {
    ServerKind.LMSTUDIO: "LM Studio",
    ServerKind.LLAMACPP: "llama.cpp",
    ServerKind.OTHER: "OpenAI-compatible",
}
_MARKS = {"ok": "✓", "info": "i", "warn": "!", "error": "✗"}
COLUMNS = ("time", "asked", "served", "status", "TTFT", "tok/s", "tokens", "finish", "error")


def _client_sends_token(client: Client) -> bool:
    headers = getattr(getattr(client, "_http", None), "headers", None)
    return headers is not None and "authorization" in headers


def request_row(ex: Exchange) -> tuple[str, ...]:
    """One row of the request table for an exchange."""
    tokens = ex.usage.completion_tokens if ex.usage else None
    return (
        time.strftime("%H:%M:%S", time.localtime(ex.started)),
        ex.model_requested or "—",
        ex.model_used or "—",
        str(ex.status) if ex.status is not None else "—",
        f"{ex.ttft_s * 1000:.0f} ms" if ex.ttft_s is not None else "—",
        f"{ex.tokens_per_second:.1f}" if ex.tokens_per_second is not None else "—",
        str(tokens) if tokens is not None else "—",
        ex.finish_reason or "—",
        (ex.error or "")[:80],
    )


class TroubleshootScreen(Screen[None]):
    """Is the server healthy, what is loaded, what went wrong lately, and what to do."""

    DEFAULT_CSS = _CSS_FILE.read_text(encoding="utf-8")
    BINDING_GROUP_TITLE = "Troubleshooting"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("r", "check", "Check now"),
        Binding("i", "inspect", "Inspect request"),
    ]

    def __init__(
        self,
        client: Client,
        log: RequestLog,
        *,
        model: str | None = None,
        server_label: str | None = None,
        with_token: bool | None = None,
        refresh_every: float = REFRESH_SECONDS,
        stable: bool = False,
        reply_findings: list[Finding] | None = None,
    ) -> None:
        """``server_label`` replaces the URL on screen and ``stable`` hides latency digits
        (both for snapshots); ``with_token`` defaults to whether the client sends one."""
        super().__init__()
        self.client = client
        self.request_log = log
        self.model = model
        self.server_label = server_label
        self.with_token = _client_sends_token(client) if with_token is None else with_token
        self.refresh_every = refresh_every
        self.stable = stable
        self.diagnosis: Diagnosis | None = None
        self.findings: list[Finding] = []
        self.checking = False
        self.checks = 0  # completed checks, for tests and the status line
        self._timer: Timer | None = None
        self._paused = False
        self._rows: list[Exchange] = []
        #: Findings about the conversation's replies (an answer only in the reasoning).
        self.reply_findings = reply_findings or []

    # ---- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._show(f"Troubleshooting · {self.client.base_url}"), id="ts-title")
        with VerticalScroll(id="ts-body"):
            yield Static(id="ts-health")
            yield Static("Models", classes="ts-heading")
            yield Static(id="ts-models")
            yield Static("Findings", classes="ts-heading")
            yield Vertical(id="ts-findings")
            yield Static("Last requests (Enter: inspect)", classes="ts-heading")
            yield Static("No requests yet.", id="ts-no-requests")
            yield DataTable(id="ts-requests", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#ts-requests", DataTable)
        table.add_columns(*COLUMNS)
        self._render_health()
        self._render_requests()
        self.query_one("#ts-body").focus()
        self._timer = self.set_interval(self.refresh_every, self._tick)
        self.action_check()

    def on_unmount(self) -> None:
        self._stop_polling()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()
            self._paused = True

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self._paused = False
            self._render_requests()

    @property
    def polling(self) -> bool:
        """True while the periodic health check is armed (only while this screen is shown)."""
        return self._timer is not None and not self._paused

    def _stop_polling(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    # ---- checking -----------------------------------------------------------------

    def _tick(self) -> None:
        if not self.checking:
            self.action_check()

    def action_check(self) -> None:
        """Check the server's health now (ignored while a check is running)."""
        if self.checking:
            return
        self.checking = True
        self._render_health()
        self._check()

    @work(exclusive=True, group="troubleshoot", exit_on_error=False)
    async def _check(self) -> None:
        try:
            diag = await diagnose(self.client, model=self.model)
            extra = exchange_findings(self.request_log, models=diag.models)
            ids = {f.id for f in diag.findings}
            self.diagnosis = diag
            self.findings = diag.findings + [f for f in extra if f.id not in ids]
            self.findings += self.reply_findings
        except Exception as exc:  # an unexpected failure must not leave "checking…" forever
            self.findings = [Finding("check_failed", "error", "The check itself failed", str(exc))]
        finally:
            self.checking = False  # also when cancelled (the panel closed mid-check)
        self.checks += 1
        self._render_health()
        self._render_findings()
        self._render_requests()

    # ---- rendering ----------------------------------------------------------------

    def _show(self, text: str) -> str:
        """Text as shown: inert, with the URL replaced by the label and latency masked."""
        if self.server_label:
            text = text.replace(self.client.base_url, self.server_label)
        if self.stable:
            text = _LATENCY.sub("– ms", text)
        return make_inert(text)

    def _render_health(self) -> None:
        diag = self.diagnosis
        health = diag.health if diag else None
        rows: list[tuple[str, str]] = [("Server", self.client.base_url)]
        if self.checking:
            state = "checking…"
        elif health is None:
            state = "not checked yet"
        elif health.reachable:
            latency = f"{health.latency_ms:.0f} ms" if health.latency_ms is not None else "?"
            state = f"reachable · round trip {latency}"
        else:
            state = "unreachable"
        rows.append(("Status", state))
        caps = health.capabilities if health else None
        if caps is not None:
            levels = ", ".join("/" + lv.value for lv in caps.levels)
            rows.append(("Kind", f"{_KIND_NAMES[caps.kind]} · APIs {levels}"))
        runtime = runtime_info(self.request_log)
        version = caps.version if caps else None
        if version or runtime:
            rows.append(("Runtime", " · ".join(x for x in (version, runtime) if x)))
        parts: list[str | tuple[str, str]] = []
        for i, (name, value) in enumerate(rows):
            if i:
                parts.append("\n")
            parts.append((f"{name:<8} ", "bold"))
            parts.append(self._show(value))
        self.query_one("#ts-health", Static).update(Content.assemble(*parts))
        self.set_class(self.checking, "-checking")

    def _render_models(self) -> None:
        diag = self.diagnosis
        models = diag.models if diag else []
        loaded = [m for m in models if m.loaded]
        if loaded:
            lines = [
                f"{m.id}  ({m.type.value}, context {m.loaded_context_length or '?'})"
                for m in loaded
            ]
            text = "\n".join(lines)
        elif models and all(m.loaded is None for m in models):
            text = f"{len(models)} model(s) listed; this server does not say which are loaded."
        elif models:
            text = f"None loaded ({len(models)} downloaded)."
        else:
            text = "—"
        self.query_one("#ts-models", Static).update(Content(self._show(text)))

    def _render_findings(self) -> None:
        self._render_models()
        box = self.query_one("#ts-findings", Vertical)
        box.remove_children()
        box.mount_all(self._finding_widget(f) for f in self.findings)

    def _finding_widget(self, f: Finding) -> Vertical:
        title = Content.assemble(
            (f"{_MARKS[f.severity]} ", "bold"), (self._show(f.title), "" if f.ok else "bold")
        )
        children = [Static(title, classes="ts-finding-title")]
        lines = [self._show(f.detail)] if f.detail else []
        if f.remedy and not f.ok:
            lines.append("→ " + self._show(f.remedy))
        if lines:
            children.append(Static(Content("\n".join(lines)), classes="ts-finding-body"))
        return Vertical(*children, classes=f"ts-finding -{f.severity}")

    def _render_requests(self) -> None:
        self._rows = self.request_log.last(MAX_ROWS)
        table = self.query_one("#ts-requests", DataTable)
        table.clear()
        for i, ex in enumerate(self._rows):
            table.add_row(*(self._show(cell) for cell in request_row(ex)), key=str(i))
        table.display = bool(self._rows)
        self.query_one("#ts-no-requests").display = not self._rows

    # ---- inspecting ---------------------------------------------------------------

    @on(DataTable.RowSelected, "#ts-requests")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._inspect(event.cursor_row)

    def action_inspect(self) -> None:
        """Open the inspector on the highlighted request."""
        table = self.query_one("#ts-requests", DataTable)
        if not self._rows:
            self.notify("No requests yet.")
            return
        self._inspect(table.cursor_row)

    def _inspect(self, row: int) -> None:
        if 0 <= row < len(self._rows):
            ex = self._rows[row]
            self.app.push_screen(
                InspectorScreen.for_exchange(self.client.base_url, ex, self.with_token)
            )

    def action_close(self) -> None:
        """Close the panel (and stop checking)."""
        self._stop_polling()
        self.dismiss(None)
