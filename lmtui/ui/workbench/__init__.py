"""The workbench: completions playground, embeddings, semantic search, compare, batch.

Every screen takes ``(client, models, *, default_model=None)`` (some accept more
keywords: ``history``, ``presets``, ``params``) and is opened with
``app.push_screen(...)``. :func:`workbench_screens` lists them for key bindings
and the command palette. Semantic search posts :class:`OpenConversation` to the
app when a result is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.screen import Screen

from lmtui.backend.types import Model
from lmtui.services.clients import Client
from lmtui.ui.workbench.batch_screen import BatchScreen
from lmtui.ui.workbench.common import OpenConversation
from lmtui.ui.workbench.compare import CompareScreen
from lmtui.ui.workbench.completions import CompletionsScreen
from lmtui.ui.workbench.embeddings import EmbeddingsScreen
from lmtui.ui.workbench.search import SemanticSearchScreen
from lmtui.ui.workbench.structured import StructuredScreen

__all__ = [
    "BatchScreen",
    "CompareScreen",
    "CompletionsScreen",
    "EmbeddingsScreen",
    "OpenConversation",
    "SemanticSearchScreen",
    "StructuredScreen",
    "workbench_screens",
]

ScreenFactory = Callable[..., Screen[Any]]


def workbench_screens() -> dict[str, tuple[str, ScreenFactory]]:
    """Each tool by id: its palette title and its screen class.

    Call the class as ``factory(client, models, default_model=...)``; the
    semantic search and compare screens also accept ``history=HistoryStore``
    (they open the default history when it is not given).
    """
    return {
        "completions": ("Workbench: completions playground (raw prompt)", CompletionsScreen),
        "embeddings": ("Workbench: embeddings and similarity", EmbeddingsScreen),
        "semantic_search": ("Workbench: semantic search over history", SemanticSearchScreen),
        "compare": ("Workbench: compare models side by side", CompareScreen),
        "batch": ("Workbench: batch run a file of prompts", BatchScreen),
        "structured": ("Workbench: structured output and custom tools", StructuredScreen),
    }


def open_tool(
    app: Any,
    tool: str,
    client: Client,
    models: Sequence[Model],
    *,
    default_model: str | None = None,
    **extra: Any,
) -> None:
    """Push the workbench screen ``tool`` (an id of :func:`workbench_screens`) on ``app``."""
    _, factory = workbench_screens()[tool]
    app.push_screen(factory(client, list(models), default_model=default_model, **extra))
