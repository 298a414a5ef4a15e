"""Raw prompt completions (``/v1/completions``), ended by the same rules as a chat reply."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ChatResult, CompletionRequest, StreamEvent
from lmtui.services.clients import Client


class CompletionRun:
    """One streamed completion: its result, folded as events arrive, and its events.

    Iterate it once for the events. Like a chat reply (``ReplyFold``): an error keeps
    the text and ends on ``error`` (the exception is raised on), and a reader that
    stops early (``aclose()``, a cancelled task) leaves it ``stopped``.
    """

    def __init__(self, client: Client, request: CompletionRequest) -> None:
        self.request = request
        self.result = ChatResult()
        self._events = self._stream(client)

    def __aiter__(self) -> AsyncGenerator[StreamEvent, None]:
        return self._events

    async def aclose(self) -> None:
        """Stop the completion (a no-op once it has ended)."""
        await self._events.aclose()

    async def _stream(self, client: Client) -> AsyncGenerator[StreamEvent, None]:
        ended = False
        try:
            async for event in client.stream_complete(self.request):
                self.result.apply(event)
                yield event
            ended = True
        except LmtuiError as exc:
            ended = True
            self.result.fail(exc.message)
            raise
        finally:
            if not ended:
                self.result.stop()


def stream_completion(client: Client, request: CompletionRequest) -> CompletionRun:
    """Start a streamed completion of ``request`` on ``client`` (nothing is sent until iterated)."""
    return CompletionRun(client, request)
