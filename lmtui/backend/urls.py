"""Base URLs: the default, how user input is normalised, checked and shown (kept light)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

DEFAULT_BASE_URL = "http://localhost:1234"
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")

__all__ = [
    "DEFAULT_BASE_URL",
    "display_url",
    "normalize_base_url",
    "split_userinfo",
    "url_problem",
]


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


def url_problem(url: str) -> str | None:
    """Why a normalised base URL cannot be used, or None when it can.

    Only http(s) with a host, a valid port and no whitespace or control characters
    is accepted: ``javascript:``, ``file://``, port 99999 or ``http://[::1`` are not.
    """
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "it holds a space or a control character"
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1"
        return "its host is not valid"
    if parts.scheme not in ("http", "https"):
        return "it is not an http(s) URL"
    try:
        port = parts.port  # raises ValueError for 99999 or "abc"
    except ValueError:
        return "it has a bad port"
    if port is None and parts.netloc.endswith(":"):
        return "it has a bad port"
    if not parts.hostname:
        return "it has no host"
    return None


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without ``user:password@``, and the (decoded) user and password if any."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL lmtui will use; still never show its credentials
        return _USERINFO.sub(r"\1", url), None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, (unquote(user), unquote(password))


def display_url(url: str) -> str:
    """``url`` as it may be shown or stored: credentials (``user:password@``) removed."""
    return split_userinfo(url)[0]
