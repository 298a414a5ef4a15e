"""Async client for LM Studio and OpenAI-compatible servers (no Textual here).

Submodules are imported on first use so that light commands (``lmtui --version``,
``lmtui history search``) do not pay for httpx.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_BASE_URL", "Exchange", "LMStudioClient", "LmtuiError", "normalize_base_url"]


def __getattr__(name: str) -> Any:
    if name == "LmtuiError":
        from lmtui.backend.errors import LmtuiError

        return LmtuiError
    if name in __all__:
        from lmtui.backend import client

        return getattr(client, name)
    raise AttributeError(name)
