"""What ``lmtui ask`` writes on stderr while a reply streams.

A one-line load / prompt-processing progress (or the wait for a server still loading
its model), only when stderr is a terminal (and
cleared before anything else is written); the reasoning, with ``--reasoning``, set
apart from the answer (a dimmed, headed block ending in a blank line on a terminal);
and every line ended, so a later ``-v`` report or error starts on its own line.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from lmtui.backend.types import (
    ContentWasReasoning,
    LoadProgress,
    PromptProgress,
    ServerLoading,
    StreamEvent,
)

DIM = "\x1b[2m"
RESET = "\x1b[0m"
CLEAR_LINE = "\r\x1b[K"
RETRACTED = (
    "lmtui: the text above was the model's reasoning (its chat template opened <think> "
    "itself); the answer follows."
)


class AskDisplay:
    """stderr for one ``ask``: progress, reasoning, tidy line ends."""

    def __init__(self, err: TextIO, *, show_reasoning: bool) -> None:
        self.err = err
        self.tty = err.isatty()
        self.color = self.tty and not os.environ.get("NO_COLOR")
        self.show_reasoning = show_reasoning
        self._progress_shown = False
        self._reasoning_open = False
        self._ends_line = True
        self._load_started: float | None = None

    def progress(self, event: StreamEvent) -> None:
        """Show load or prompt progress (terminal only); note a retracted answer."""
        if isinstance(event, ContentWasReasoning):
            self._clear()
            self._line_end()
            self.err.write(RETRACTED + "\n")
            self.err.flush()
            return
        if not self.tty:
            return
        if isinstance(event, LoadProgress):
            if self._load_started is None:
                self._load_started = time.monotonic()
            elapsed = time.monotonic() - self._load_started
            text = f"lmtui: loading the model {event.progress * 100:3.0f}% · {elapsed:.1f} s"
        elif isinstance(event, PromptProgress):
            text = f"lmtui: processing the prompt {event.progress * 100:3.0f}%"
        elif isinstance(event, ServerLoading):
            if event.done:
                self._clear()
                return
            so_far = f" · {event.waited_s:.0f} s so far" if event.waited_s >= 1 else ""
            text = (
                f"lmtui: the server is loading its model{so_far} · again in {event.retry_in_s:g} s"
            )
        else:
            return
        self._line_end()
        self.err.write(CLEAR_LINE + text)
        self.err.flush()
        self._progress_shown = True

    def reasoning(self, text: str) -> None:
        """Write a piece of reasoning, when asked to show it."""
        if not self.show_reasoning or not text:
            return
        self._clear()
        if not self._reasoning_open:
            self._line_end()
            self._reasoning_open = True
            if self.tty:
                self.err.write((DIM if self.color else "") + "Reasoning:\n")
        if self.tty:
            from lmtui.services.terminal_text import make_inert

            text = make_inert(text)
        self.err.write(text)
        self.err.flush()
        self._ends_line = text.endswith("\n")

    @property
    def busy(self) -> bool:
        """True when a progress line or a reasoning block is open (see before_answer)."""
        return self._progress_shown or self._reasoning_open

    def before_answer(self) -> None:
        """Called before an answer delta: clear progress, close the reasoning block.

        Only needed while :attr:`busy`.
        """
        self._clear()
        if self._reasoning_open:
            self._close_reasoning()
            if self.tty:
                self.err.write("\n")  # a blank line between the reasoning and the answer
            self.err.flush()

    def end(self) -> None:
        """The reply is over: leave stderr at the start of a line."""
        self._clear()
        if self._reasoning_open:
            self._close_reasoning()
        self._line_end()
        self.err.flush()

    def _close_reasoning(self) -> None:
        self._reasoning_open = False
        if self.color:
            self.err.write(RESET)
        self._line_end()

    def _line_end(self) -> None:
        if not self._ends_line:
            self.err.write("\n")
            self._ends_line = True

    def _clear(self) -> None:
        if self._progress_shown:
            self.err.write(CLEAR_LINE)
            self.err.flush()
            self._progress_shown = False
