"""The workbench screens' common base: the client, the models, Esc, the frame timer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker

from lmtui.backend.types import Model
from lmtui.services.clients import Client
from lmtui.ui.workbench.common import FRAME_SECONDS, StreamText


class WorkbenchScreen(Screen[None]):
    """A tool screen pushed over the chat: Esc stops the running job, or closes the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_or_close", "Stop / close", show=True),
        Binding("ctrl+r", "run", "Run", show=True),
    ]

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.models = list(models)
        self.default_model = default_model
        self.job: Worker[None] | None = None

    def on_mount(self) -> None:
        """Start the frame timer that draws streamed text.

        Textual calls every class's ``on_mount`` along the MRO, so subclasses
        define their own without calling this one.
        """
        self.set_interval(FRAME_SECONDS, self.flush_streams)

    def flush_streams(self) -> None:
        """Draw text buffered since the last frame, in every stream widget."""
        for widget in self.query(StreamText):
            widget.flush()

    @property
    def busy(self) -> bool:
        """True while the screen's job runs."""
        return self.job is not None and not self.job.is_finished

    def action_stop_or_close(self) -> None:
        """Stop the running job; with none, close the screen."""
        if self.busy and self.job is not None:
            self.job.cancel()
            return
        self.dismiss(None)

    def action_run(self) -> None:
        """Start the screen's job (each screen defines :meth:`start`)."""
        if self.busy:
            self.notify("Still running: press Esc to stop it first.", severity="warning")
            return
        self.start()

    def start(self) -> None:
        """Start the job; overridden by each screen."""
        raise NotImplementedError
