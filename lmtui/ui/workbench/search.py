"""Semantic search over the history: index with an embedding model, query by meaning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Footer, Input, Label, OptionList, ProgressBar, Select, Static
from textual.widgets.option_list import Option

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import Model
from lmtui.services.clients import Client
from lmtui.services.semantic import (
    LOAD_EMBEDDING_MODEL,
    IndexProgress,
    SemanticHit,
    SemanticSearch,
    embedding_models,
)
from lmtui.services.terminal_text import make_inert
from lmtui.store.history import HistoryStore
from lmtui.store.vectors import VectorStore
from lmtui.ui.history_writes import app_history
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import OpenConversation, model_select, selected
from lmtui.ui.workbench.embeddings import embedding_choices, model_warning


class SemanticSearchScreen(WorkbenchScreen):
    """Find conversations by meaning (and words); Enter opens one."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Semantic search"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "index", "Index now", show=True, id="workbench.index")
    ]

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
        history: HistoryStore | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        self.choices, self.none_warning = embedding_choices(self.models)
        self._given_history = history
        self.history: HistoryStore | None = history
        self.vectors: VectorStore | None = None
        self.hits: list[SemanticHit] = []
        self.last_progress: IndexProgress | None = None

    def compose(self) -> ComposeResult:
        """Query, options and results on the left; model and index on the right."""
        embedders = embedding_models(self.models)
        default = embedders[0].id if embedders else self.default_model
        with Horizontal(classes="wb-body"):
            with Vertical(classes="wb-main"):
                yield Label(
                    "Search the history by meaning. Enter searches; Enter on a result opens it; "
                    "Ctrl+T indexes new messages.",
                    classes="wb-title",
                )
                yield Input(placeholder="What was that conversation about…", id="query")
                yield Checkbox("Also match words (full-text)", value=True, id="words")
                yield OptionList(id="results", classes="wb-results")
                yield Static("", id="status", classes="wb-status", markup=False)
            with Vertical(classes="wb-side"):
                yield model_select(self.choices, default, id="model", prompt="Embedding model")
                yield Static("", id="warning", classes="wb-warning", markup=False)
                yield Static("", id="index-state", markup=False)
                yield ProgressBar(id="progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        """Open the history and its vectors; show how much is indexed."""
        self.query_one("#query", Input).focus()
        self.query_one("#progress", ProgressBar).display = False
        try:
            if self.history is None:  # the app's when it has one (not ours to close)
                self.history = self._given_history = app_history(self.app)
            if self.history is None:
                self.history = HistoryStore()
            self.vectors = VectorStore(self.history.path)
        except LmtuiError as exc:
            self._status(f"History is not available: {exc.message}")
        self._model_changed()

    def on_unmount(self) -> None:
        """Close what this screen opened."""
        if self.vectors is not None:
            self.vectors.close()
        if self._given_history is None and self.history is not None:
            self.history.close()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _model(self) -> str | None:
        return selected(self.query_one("#model", Select))

    def _service(self) -> SemanticSearch | None:
        model = self._model()
        if model is None:
            self._status("Choose an embedding model first. " + LOAD_EMBEDDING_MODEL)
            return None
        if self.history is None or self.vectors is None:
            self._status("History is not available, so there is nothing to search.")
            return None
        return SemanticSearch(self.client, self.history, self.vectors, model)

    @on(Select.Changed, "#model")
    def _model_changed(self) -> None:
        warning = self.none_warning or model_warning(self.models, self._model())
        self.query_one("#warning", Static).update(warning)
        self._show_index_state()

    def _show_index_state(self) -> None:
        model = self._model()
        label = self.query_one("#index-state", Static)
        if model is None or self.vectors is None:
            label.update("")
            return
        try:
            indexed = self.vectors.count_indexed(model)
            pending = self.vectors.count_pending(model)
        except LmtuiError as exc:
            label.update(exc.message)
            return
        todo = f"{pending} to index (Ctrl+T)" if pending else "up to date"
        label.update(f"{indexed} message(s) indexed with this model · {todo}")

    # ---- indexing -----------------------------------------------------------------

    def action_index(self) -> None:
        """Embed messages not yet indexed with the chosen model."""
        if self.busy:
            self.notify("Still running: press Esc to stop it first.", severity="warning")
            return
        service = self._service()
        if service is not None:
            self.job = self._index(service)

    @work(exclusive=True, group="semantic", exit_on_error=False)
    async def _index(self, service: SemanticSearch) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._status(f"Indexing with {service.model}… (Esc stops; what is done is kept)")

        def show(p: IndexProgress) -> None:
            self.last_progress = p
            bar.update(total=max(p.total, 1), progress=p.done)
            self.query_one("#index-state", Static).update(f"indexing: {p.done} of {p.total}")

        try:
            state = await service.index(show)
            self._status(f"Indexed {state.done} message(s) with {service.model}.")
        except LmtuiError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self._status(f"Indexing stopped: {exc.message}{remedy}")
        finally:
            bar.display = False
            self._show_index_state()

    # ---- searching ----------------------------------------------------------------

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        self.action_run()

    def start(self) -> None:
        """Search for the query typed."""
        query = self.query_one("#query", Input).value.strip()
        if not query:
            self._status("Type what you are looking for.")
            return
        service = self._service()
        if service is not None:
            words = self.query_one("#words", Checkbox).value
            self.job = self._search(service, query, words)

    @work(exclusive=True, group="semantic", exit_on_error=False)
    async def _search(self, service: SemanticSearch, query: str, words: bool) -> None:
        self._status("Searching…")
        try:
            hits = await service.search(query, words=words, limit=20)
        except LmtuiError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self._status(f"Search failed: {exc.message}{remedy}")
            return
        self.hits = hits
        results = self.query_one("#results", OptionList)
        results.clear_options()
        results.add_options([Option(_hit_text(h), id=str(h.conversation_id)) for h in hits])
        if hits:
            results.highlighted = 0
            results.focus()
            self._status(f"{len(hits)} conversation(s). Enter opens one.")
        elif service.vectors.count_indexed(service.model) == 0:
            self._status("Nothing found: nothing is indexed with this model yet (Ctrl+T).")
        else:
            self._status("Nothing found.")

    @on(OptionList.OptionSelected, "#results")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        self.app.post_message(OpenConversation(int(event.option.id)))
        self.dismiss(None)


def _hit_text(hit: SemanticHit) -> Text:
    """A result line: title, how it matched and its score, then the snippet."""
    text = Text()
    text.append(make_inert(hit.title), style="bold")
    how = " + ".join(hit.matched_by)
    score = f"{hit.similarity:.3f}" if hit.similarity is not None else f"{hit.score:.4f}"
    text.append(f"  [{how} · {score}]", style="dim")
    text.append("\n  " + make_inert(hit.snippet))
    return text
