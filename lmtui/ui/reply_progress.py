"""A reply's load and prompt-processing progress: a bar, the percent, the elapsed time.

Shown inside a reply while LM Studio loads the model for it (JIT) or processes a long
prompt, or while a llama.cpp server still loading its model is waited for; hidden
otherwise. The elapsed time ticks only while a load is under way, so an
idle screen never polls.
"""

from __future__ import annotations

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from lmtui.backend.types import ReplyExtras

BAR_WIDTH = 20


def bar(progress: float, width: int = BAR_WIDTH) -> str:
    """A text progress bar, ``width`` cells between ``▕`` and ``▏``."""
    filled = round(max(0.0, min(1.0, progress)) * width)
    return "▕" + "█" * filled + "░" * (width - filled) + "▏"


def describe_progress(extras: ReplyExtras) -> str | None:
    """The progress line for a reply, or None when nothing is loading or processing."""
    wait = extras.server_wait
    if wait is not None:  # llama.cpp's 503 "Loading model": asked again after a wait
        so_far = f" · {wait.waited_s:.0f} s so far" if wait.waited_s >= 1 else ""
        return (
            f"The server is loading its model{so_far} · again in {wait.retry_in_s:g} s"
            "  (Esc cancels)"
        )
    if extras.loading and extras.load_progress is not None:
        pct = round(extras.load_progress * 100)
        return (
            f"Loading the model {bar(extras.load_progress)} {pct:3d}% · "
            f"{extras.load_elapsed():.1f} s  (Esc cancels)"
        )
    if extras.prompt_progress is not None and extras.prompt_seconds is None:
        pct = round(extras.prompt_progress * 100)
        return f"Processing the prompt {bar(extras.prompt_progress)} {pct:3d}%  (Esc cancels)"
    return None


class ReplyProgress(Static):
    """The progress line of one reply."""

    DEFAULT_CSS = """
    ReplyProgress { height: auto; color: $text-muted; display: none; }
    ReplyProgress.-active { display: block; }
    """

    def __init__(self, extras: ReplyExtras, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.extras = extras
        self._ticker: Timer | None = None

    def show(self, extras: ReplyExtras | None = None) -> None:
        """Redraw from the reply's extras (after a progress event)."""
        if extras is not None:
            self.extras = extras
        text = describe_progress(self.extras)
        self.set_class(text is not None, "-active")
        self.update(Content(text or ""))
        if self.extras.loading and self._ticker is None:
            self._ticker = self.set_interval(0.5, self.show)
        elif not self.extras.loading and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def stop(self) -> None:
        """The reply ended (or was stopped): hide the line and stop ticking."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.set_class(False, "-active")
        self.update("")
