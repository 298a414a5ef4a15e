"""Plain-language explanations of what the server did."""

from __future__ import annotations

from lmtui.backend.types import FinishReason

_FINISH: dict[FinishReason, str] = {
    FinishReason.STOP: "the model finished its answer (or hit a stop sequence)",
    FinishReason.LENGTH: "cut at the max_tokens limit: continue the reply, or raise max_tokens",
    FinishReason.CONTENT_FILTER: "the server withheld content because of a content filter",
    FinishReason.TOOL_CALLS: "the model asked to call a tool instead of answering",
    FinishReason.INTERRUPTED: (
        "the stream ended without a finish reason: the server stopped or crashed mid-reply; "
        "the partial reply was kept"
    ),
    FinishReason.STOPPED: "you stopped it; the partial reply was kept",
    FinishReason.ERROR: "the server reported an error part-way through",
}


def explain_finish(reason: FinishReason) -> str:
    """One line on why a reply ended and what to do about it."""
    return _FINISH[reason]
