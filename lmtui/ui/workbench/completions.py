"""The completions playground: a raw prompt to ``/v1/completions``, every parameter at hand."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, Select, Static, TextArea

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import (
    ChatResult,
    CompletionRequest,
    ContentDelta,
    FinishReason,
    Model,
    ReasoningDelta,
    SamplingParams,
)
from lmtui.services.clients import Client
from lmtui.services.completions import stream_completion
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import (
    ParamsForm,
    StreamText,
    describe_result,
    model_select,
    selected,
)


class CompletionsScreen(WorkbenchScreen):
    """Type a raw prompt (no chat template), pick a model and parameters, stream the text."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Completions"

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
        params: SamplingParams | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        self.initial_params = params
        self.result: ChatResult | None = None

    def compose(self) -> ComposeResult:
        """Prompt and output on the left, model and parameters on the right."""
        chat_models = [m for m in self.models if not m.is_embedding]
        with Horizontal(classes="wb-body"):
            with Vertical(classes="wb-main"):
                yield Label(
                    "Raw prompt for /v1/completions — no chat template is applied. "
                    "Ctrl+R runs, Esc stops.",
                    classes="wb-title",
                )
                yield TextArea("", id="prompt", classes="wb-prompt", soft_wrap=True)
                yield StreamText(id="output", classes="wb-output")
                yield Static("", id="status", classes="wb-status", markup=False)
            with Vertical(classes="wb-side"):
                yield model_select(chat_models or self.models, self.default_model, id="model")
                yield ParamsForm(initial=self.initial_params, id="params")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the prompt."""
        self.query_one("#prompt", TextArea).focus()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def start(self) -> None:
        """Check the inputs and stream a completion."""
        prompt = self.query_one("#prompt", TextArea).text
        model = selected(self.query_one("#model", Select))
        if not prompt.strip():
            self._status("Type a prompt first.")
            return
        if model is None:
            self._status("Choose a model first (the server lists none: load one in LM Studio).")
            return
        try:
            params = self.query_one("#params", ParamsForm).params()
        except ValueError as exc:
            self._status(f"Parameter error: {exc}")
            return
        self.job = self._complete(CompletionRequest(model, prompt, params))

    @work(exclusive=True, group="completions", exit_on_error=False)
    async def _complete(self, request: CompletionRequest) -> None:
        output = self.query_one("#output", StreamText)
        output.reset()
        run = stream_completion(self.client, request)
        self.result = run.result
        self._status(f"Sending to {request.model}…")
        started = time.monotonic()
        first: float | None = None
        try:
            async for event in run:
                if isinstance(event, ContentDelta | ReasoningDelta):
                    if first is None:
                        first = time.monotonic() - started
                        self._status("Streaming… (Esc stops)")
                    output.add(event.text)
        except LmtuiError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self._status(f"Error: {exc.message}{remedy}")
        else:
            self._status(describe_result(run.result, ttft_s=first))
        finally:
            await run.aclose()
            output.flush()
            if run.result.finish_reason is FinishReason.STOPPED:
                self._status(describe_result(run.result, ttft_s=first))
