"""The server's models: list, load, unload, and the model to keep when the server changes.

The TUI and the CLI go through these rather than the client, so the rules (which
instances an unload covers, which model a switched conversation keeps) live once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmtui.backend.types import LoadResult, Model
from lmtui.services.clients import Client
from lmtui.services.model_choice import resolve_model


async def list_models(client: Client) -> list[Model]:
    """Every model the server offers (asked afresh); raises ``LmtuiError`` when it cannot say."""
    return await client.list_models()


async def load_model(client: Client, model_id: str) -> LoadResult:
    """Load ``model_id`` with the server's defaults; the answer says how long it took."""
    return await client.load_model(model_id)


async def unload_model(client: Client, model: Model) -> None:
    """Unload every loaded instance of ``model`` (its id when the server lists none)."""
    for instance in model.instance_ids or (model.id,):
        await client.unload_model(instance)


@dataclass(frozen=True, slots=True)
class ModelForServer:
    """The model a conversation goes on with on another server, and what to tell the user."""

    model_id: str | None
    note: str


def model_after_switch(
    current: str | None, models: Sequence[Model], *, profile_model: str | None, server: str
) -> ModelForServer:
    """Keep ``current`` when the new server (named ``server``) lists it; else choose one.

    The choice follows :func:`lmtui.services.model_choice.resolve_model` with the
    profile's model as the default, and the note says which and why.
    """
    ids = {m.id.casefold() for m in models if not m.is_embedding}
    if current is not None and current.casefold() in ids:
        return ModelForServer(current, f"switched to {server}")
    choice = resolve_model(None, None, models, default=profile_model)
    return ModelForServer(choice.model_id, f"switched to {server}: {choice.reason}")
