"""Base URLs: the default and how user input is normalised (kept light for config)."""

from __future__ import annotations

DEFAULT_BASE_URL = "http://localhost:1234"

__all__ = ["DEFAULT_BASE_URL", "normalize_base_url"]


def normalize_base_url(url: str) -> str:
    """Accept a base URL with or without ``/v1`` (and a trailing slash)."""
    url = url.strip().rstrip("/")
    if not url:
        return DEFAULT_BASE_URL
    if "://" not in url:
        url = "http://" + url
    for suffix in ("/v1", "/api/v0", "/api/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url
