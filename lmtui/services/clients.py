"""The one place a client for a server is made, from a server profile or the config.

The UI and the CLI hold the :data:`Client` this returns and hand it to services
(chat, models, completions, embeddings…); they never import the backend client.
"""

from __future__ import annotations

from typing import TypeAlias

from lmtui.backend.client import Exchange, ExchangeHook, LMStudioClient
from lmtui.store.config import Config, default_profile
from lmtui.store.profiles import ServerProfile

__all__ = ["Client", "Exchange", "ExchangeHook", "client_for"]

# What the UI and the CLI hold: a connection to one server, passed to services.
Client: TypeAlias = LMStudioClient


def client_for(
    source: Config | ServerProfile, *, on_exchange: ExchangeHook | None = None
) -> Client:
    """A client for ``source`` (a profile, or the config's top-level server settings).

    ``on_exchange`` is called with every finished request (the request log).
    Close it with ``await client.aclose()`` or ``async with``.
    """
    profile = default_profile(source) if isinstance(source, Config) else source
    return LMStudioClient.from_settings(profile, on_exchange=on_exchange)
