"""The download dialog (sidebar ``D``) and the tracker that keeps a download in view.

:class:`DownloadTracker` holds the current download and tells its listeners (the status
line, an open dialog) of every change; the app's worker feeds it. Closing the dialog
never stops the download: it goes on, shown in the status line, while you chat. LM
Studio's API cannot cancel a download, and the dialog says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar, Static

from lmtui.backend.downloads import DownloadJob
from lmtui.services.downloads import (
    CONTINUES_IN_LMSTUDIO,
    human_duration,
    human_rate,
    state_line,
)
from lmtui.services.model_admin import human_size
from lmtui.services.terminal_text import make_inert

Listener = Callable[[DownloadJob], None]


class DownloadTracker:
    """The download in progress (at most one at a time) and who wants to hear of it."""

    def __init__(self) -> None:
        self.job: DownloadJob | None = None
        self._listeners: list[Listener] = []

    @property
    def running(self) -> bool:
        """True while a download has not finished."""
        return self.job is not None and not self.job.finished

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every update."""
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def update(self, job: DownloadJob) -> None:
        """Record the newest state of the download and tell every listener."""
        self.job = job
        for listener in list(self._listeners):
            listener(job)


def status_text(job: DownloadJob) -> str:
    """The status line's short form: ``↓ model 42% 1.2/3.0 GB 50.0 MB/s 36 s``."""
    if job.finished:
        return "↓ " + state_line(job)
    parts = [f"↓ {job.model}"]
    if job.fraction is not None:
        parts.append(f"{job.fraction * 100:.0f}%")
    if job.status != "downloading":
        parts.append(job.status)  # queued, paused: said; downloading goes without saying
    if job.total_bytes:
        done, total = human_size(job.downloaded_bytes or 0), human_size(job.total_bytes)
        unit = total.rsplit(" ", 1)[-1]
        if done.endswith(" " + unit):
            done = done.rsplit(" ", 1)[0]
        parts.append(f"{done}/{total}")
    if job.status == "downloading" and job.bytes_per_second:
        parts.append(human_rate(job.bytes_per_second))
    eta = job.eta_seconds()
    if eta is not None:
        parts.append(human_duration(eta))
    return " ".join(parts)


StartCall = Callable[[str, str | None], None]


class DownloadDialog(ModalScreen[None]):
    """Start a download, or watch the one running; Esc closes and it goes on."""

    DEFAULT_CSS = """
    DownloadDialog {
        align: center middle;
        background: $background 60%;
    }
    DownloadDialog #download-dialog {
        width: 72;
        max-width: 100%;
        height: auto;
        border: round $accent;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    DownloadDialog #download-help { color: $text-muted; height: auto; }
    DownloadDialog Input { margin-top: 1; }
    DownloadDialog #download-bar { margin-top: 1; display: none; }
    DownloadDialog #download-bar.-shown { display: block; }
    DownloadDialog #download-state { height: auto; }
    DownloadDialog #download-error { color: $text-error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="download.close"),
    ]

    def __init__(self, tracker: DownloadTracker, start: StartCall) -> None:
        super().__init__()
        self.tracker = tracker
        self._start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="download-dialog") as dialog:
            dialog.border_title = "Download a model"
            dialog.border_subtitle = "Enter start · Esc close (a download goes on)"
            yield Static(
                "A catalog id (publisher/model) or a Hugging Face URL. "
                "The download runs in LM Studio and keeps going while you chat.",
                id="download-help",
            )
            yield Input(placeholder="e.g. qwen/qwen3-4b", id="download-model", compact=True)
            yield Input(
                placeholder="quantization, e.g. Q4_K_M (Hugging Face URLs; optional)",
                id="download-quant",
                compact=True,
            )
            yield ProgressBar(total=100, show_eta=False, id="download-bar")
            yield Static(id="download-state", markup=False)
            yield Static(id="download-error", markup=False)

    def on_mount(self) -> None:
        self.tracker.listen(self.show)
        if self.tracker.job is not None:
            self.show(self.tracker.job)
        self.query_one("#download-model", Input).focus()

    def on_unmount(self) -> None:
        self.tracker.unlisten(self.show)

    def show(self, job: DownloadJob) -> None:
        """Draw ``job``'s progress: the bar, bytes, speed, time left, or how it ended."""
        if not self.is_mounted or not self.is_active:
            return  # closing: the status line goes on showing it
        bar = self.query_one("#download-bar", ProgressBar)
        bar.set_class(True, "-shown")
        if job.fraction is not None:
            bar.update(total=100, progress=job.fraction * 100)
        lines = [state_line(job)]
        if not job.finished:
            lines.append(f"{CONTINUES_IN_LMSTUDIO} Esc closes this; it goes on.")
        self.query_one("#download-state", Static).update(Content(make_inert("\n".join(lines))))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        model = self.query_one("#download-model", Input).value.strip()
        quant = self.query_one("#download-quant", Input).value.strip() or None
        error = self.query_one("#download-error", Static)
        if not model:
            error.update("Type a catalog id or a Hugging Face URL, or press Esc.")
            return
        if self.tracker.running:
            error.update("A download is already running: wait for it to finish.")
            return
        error.update("")
        self._start(model, quant)

    def action_close(self) -> None:
        """Close the dialog; a running download goes on."""
        self.tracker.unlisten(self.show)
        self.dismiss(None)
