"""Async client for LM Studio and OpenAI-compatible servers (no Textual here)."""

from lmtui.backend.client import DEFAULT_BASE_URL, Exchange, LMStudioClient, normalize_base_url
from lmtui.backend.errors import LmtuiError

__all__ = ["DEFAULT_BASE_URL", "Exchange", "LMStudioClient", "LmtuiError", "normalize_base_url"]
