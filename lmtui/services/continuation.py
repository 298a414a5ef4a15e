"""Continuing a reply that was cut off: the partial reply sent as the assistant's own text.

llama.cpp (``--prefill-assistant``, on by default) and LM Studio treat a trailing
assistant message as the start of the answer and go on from its last token, so
the continuation reads as one reply. A server that refuses a trailing assistant
message (HTTP 400 or 422, or "not supported") gets the older way instead: a user
turn asking the model to go on, and the reply says so.

``join_continuation`` fixes the seam where the two texts meet.
"""

from __future__ import annotations

from lmtui.backend.errors import LmtuiError, NotSupported

CONTINUE_PROMPT = "Continue exactly where your previous reply stopped. Do not repeat anything."
FALLBACK_NOTE = (
    "The server did not accept the partial reply to continue from, so lmtui asked the model "
    "to go on instead; the seam may read oddly."
)
_SPACES = " \t"


def prefill_refused(error: LmtuiError) -> bool:
    """True when ``error`` is the server rejecting a trailing assistant message."""
    return isinstance(error, NotSupported) or error.status in (400, 422)


def join_continuation(before: str, first: str, *, restarted: bool) -> str:
    """The first delta of a continuation, adjusted to join ``before`` cleanly.

    Args:
        before: the reply so far.
        first: the first piece of text the continuation streamed.
        restarted: True when the model was asked in a new user turn (it starts a
            fresh sentence), False when it continued the reply's own tokens.

    Returns:
        ``first`` without a space that would double the one ``before`` ends with,
        or, for a restarted continuation, with the space the seam lacks.
    """
    if not before or not first:
        return first
    if before[-1] in _SPACES and first[0] in _SPACES:
        return first.lstrip(_SPACES) or first[:0]
    if restarted and not before[-1].isspace() and not first[0].isspace():
        return " " + first
    return first
