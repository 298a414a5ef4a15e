"""The embeddings tool: embed a few texts and see how alike they are."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Label, Select, Static, TextArea

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import Embedding, Model
from lmtui.services.clients import Client
from lmtui.services.embeddings import embed_texts
from lmtui.services.semantic import LOAD_EMBEDDING_MODEL, embedding_models, similarity_matrix
from lmtui.services.terminal_text import make_inert
from lmtui.ui.workbench.base import WorkbenchScreen
from lmtui.ui.workbench.common import model_select, selected

LABEL_CHARS = 28


def embedding_choices(models: Sequence[Model]) -> tuple[list[Model], str]:
    """Models to offer for embedding (embedding models first) and a warning, if any."""
    embedders = embedding_models(models)
    others = [m for m in models if not m.is_embedding]
    if embedders:
        return [*embedders, *others], ""
    return others, (
        "This server lists no embedding model. " + LOAD_EMBEDDING_MODEL + " Any model can be "
        "tried: a chat model's embeddings are weaker, and most servers refuse them."
    )


def model_warning(models: Sequence[Model], model_id: str | None) -> str:
    """A warning when ``model_id`` is not an embedding model."""
    found = next((m for m in models if m.id == model_id), None)
    if found is None or found.is_embedding:
        return ""
    return f"{model_id} is a chat model: its embeddings are weaker, and LM Studio may refuse it."


class EmbeddingsScreen(WorkbenchScreen):
    """One text per line in, dimensions and a cosine-similarity matrix out."""

    CSS_PATH = Path(__file__).with_name("workbench.tcss")
    TITLE = "Embeddings"

    def __init__(
        self,
        client: Client,
        models: Sequence[Model],
        *,
        default_model: str | None = None,
    ) -> None:
        super().__init__(client, models, default_model=default_model)
        self.choices, self.none_warning = embedding_choices(self.models)
        self.embedding: Embedding | None = None
        self.matrix: list[list[float]] = []

    def compose(self) -> ComposeResult:
        """Texts and the matrix on the left, the model on the right."""
        embedders = embedding_models(self.models)
        default = embedders[0].id if embedders else self.default_model
        with Horizontal(classes="wb-body"):
            with Vertical(classes="wb-main"):
                yield Label(
                    "One text per line. Ctrl+R embeds them and compares every pair.",
                    classes="wb-title",
                )
                yield TextArea("", id="texts", classes="wb-prompt")
                yield Static("", id="info", classes="wb-status", markup=False)
                yield DataTable(id="matrix", classes="wb-table", zebra_stripes=True)
            with Vertical(classes="wb-side"):
                yield model_select(self.choices, default, id="model", prompt="Embedding model")
                yield Static(self.none_warning, id="warning", classes="wb-warning", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Focus the texts."""
        self.query_one("#texts", TextArea).focus()
        self._update_warning()

    @on(Select.Changed, "#model")
    def _update_warning(self) -> None:
        model = selected(self.query_one("#model", Select))
        warning = self.none_warning or model_warning(self.models, model)
        self.query_one("#warning", Static).update(warning)

    def _info(self, text: str) -> None:
        self.query_one("#info", Static).update(text)

    def start(self) -> None:
        """Embed the texts typed, one per line."""
        texts = [ln.strip() for ln in self.query_one("#texts", TextArea).text.splitlines()]
        texts = [t for t in texts if t]
        model = selected(self.query_one("#model", Select))
        if not texts:
            self._info("Type at least one text (one per line).")
            return
        if model is None:
            self._info("Choose a model first. " + LOAD_EMBEDDING_MODEL)
            return
        self.job = self._embed(model, texts)

    @work(exclusive=True, group="embeddings", exit_on_error=False)
    async def _embed(self, model: str, texts: list[str]) -> None:
        self._info(f"Embedding {len(texts)} text(s) with {model}…")
        try:
            embedding = await embed_texts(self.client, model, texts)
        except LmtuiError as exc:
            remedy = f" — {exc.remedy}" if exc.remedy else ""
            self._info(f"Error: {exc.message}{remedy}")
            return
        self.embedding = embedding
        self.matrix = similarity_matrix(embedding.vectors)
        usage = f" · {embedding.usage.prompt_tokens} tokens" if embedding.usage else ""
        self._info(
            f"{len(texts)} text(s) · {embedding.dimensions} dimensions · "
            f"model {make_inert(embedding.model)}{usage}"
        )
        self._fill(texts)

    def _fill(self, texts: list[str]) -> None:
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        table.add_column("#", key="n")
        table.add_column("text", key="text")
        for i in range(len(texts)):
            table.add_column(str(i + 1), key=f"c{i}")
        for i, (text, row) in enumerate(zip(texts, self.matrix, strict=True)):
            label = make_inert(text)
            if len(label) > LABEL_CHARS:
                label = label[: LABEL_CHARS - 1] + "…"
            cells = [_cell(v, i == j) for j, v in enumerate(row)]
            table.add_row(str(i + 1), Text(label), *cells, key=f"r{i}")


def _cell(value: float, diagonal: bool) -> Text:
    text = f"{value:.3f}"
    if diagonal:
        return Text(text, style="dim")
    if value >= 0.8:
        return Text(text, style="bold")
    return Text(text)
