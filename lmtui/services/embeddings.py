"""Embeddings of a few texts, and how alike they are."""

from __future__ import annotations

from lmtui.backend.types import Embedding
from lmtui.services.clients import Client


async def embed_texts(client: Client, model: str, texts: list[str]) -> Embedding:
    """The embedding of each of ``texts`` by ``model``, in order; ``LmtuiError`` on failure."""
    return await client.embed(model, texts)
