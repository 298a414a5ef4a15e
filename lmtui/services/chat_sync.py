"""The synchronous chat turn: ``lmtui ask``'s lean path.

:class:`SyncChatSession` is a :class:`~.chat.ChatSession` on the synchronous client
(:mod:`lmtui.backend.sync_client`): it sends a prompt and streams the reply without
asyncio. Everything a reply does on its way (the route to LM Studio's ``/api/v1/chat``
or the OpenAI-compatible path, the fold into the entry, history rows written at least
once a second and the partial reply kept when the stream is cut or stopped, the
answer checks) is the session's own code (:class:`~.chat.ReplyRun`,
``ChatSession._route``), shared with the async turn; only the loop differs.

What it does not do: regenerate, edit, continue (the TUI's turns, which stay async),
and, while the server is silent mid-reply, save text that arrived within the last
second (the async writer's timer does; here the next event or the end saves it).
Images go through the async path in ``lmtui ask`` (their vision check is async).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import ApiLevel, ChatRequest, StreamEvent
from lmtui.services.chat import ChatSession, Entry, Reply, ReplyRun
from lmtui.services.load_wait import waiting_for_load_sync
from lmtui.services.native_route import routed_stream_sync

if TYPE_CHECKING:
    from lmtui.backend.client import LMStudioClient
    from lmtui.backend.sync_client import SyncClient
    from lmtui.store.config import Config
    from lmtui.store.profiles import ServerProfile


def sync_client_for(source: Config | ServerProfile) -> SyncClient:
    """A synchronous client for ``source``, as ``services.clients.client_for`` makes async ones.

    Close it with ``client.close()`` or ``with``.
    """
    from lmtui.backend.sync_client import SyncClient
    from lmtui.store.config import Config, default_profile

    profile = default_profile(source) if isinstance(source, Config) else source
    return SyncClient.from_settings(profile)


class SyncChatSession(ChatSession):
    """A conversation on the synchronous client that sends with :meth:`send_sync`.

    Takes the same keyword arguments as :class:`ChatSession`. Its async turns
    (``send``, ``regenerate``, ``edit_and_resend``, ``continue_reply``) raise.
    """

    def __init__(self, client: SyncClient, **kwargs: Any) -> None:
        # The session reads only base_url and capabilities from its client outside the
        # async turns, which this class refuses (see _reply).
        super().__init__(cast("LMStudioClient", client), **kwargs)
        self.sync_client = client

    def send_sync(
        self, text: str, images: tuple[str, ...] = ()
    ) -> Generator[StreamEvent, None, None]:
        """Add a user message and stream the reply to it; the reply is ``entries[-1]``.

        The events are those of ``ChatSession.send``'s reply. Closing the generator
        early (or Ctrl+C) keeps the partial reply, marked stopped; a typed error keeps
        it too and is raised.
        """
        request = self._add_prompt(text, images)
        return self._stream_sync(request, self._start_entry(request))

    def _reply(self, *args: Any, **kwargs: Any) -> Reply:
        raise LmtuiError("This session streams with send_sync only (it has no async client).")

    def _stream_sync(
        self, request: ChatRequest, entry: Entry
    ) -> Generator[StreamEvent, None, None]:
        """``ChatSession._stream`` on the sync client, for a new reply."""
        run = ReplyRun(self, request, entry, False)
        stream: Generator[StreamEvent, None, None] | None = None
        waiting = self.sync_client.waiting
        save = run.writer.flush_if_due if run.writer is not None else None
        if save is not None:
            waiting.append(save)  # the reply is saved once a second while the server is silent
        try:
            stream = waiting_for_load_sync(self._routed_sync(request, entry), self.load_wait)
            run.begin()
            entry = run.entry
            for event in stream:
                yield run.take(event)
                if entry.repetition is not None and run.should_stop():
                    break  # the finally keeps the reply so far, marked stopped
        except LmtuiError as exc:
            run.failed(exc)
            raise
        finally:
            if stream is not None:
                stream.close()  # closes the connection when we stop early
            if save is not None:
                waiting.remove(save)
            run.closed()

    def _routed_sync(
        self, request: ChatRequest, entry: Entry
    ) -> Callable[[], Generator[StreamEvent, None, None]]:
        """``ChatSession._routed`` on the sync client."""
        has_native = False
        if self._may_go_native():
            try:
                has_native = self.sync_client.detect().has(ApiLevel.NATIVE_V1)
            except LmtuiError as exc:
                has_native = self._native_unknown(exc)
        route, native = self._route(request, entry, False, has_native)
        return lambda: routed_stream_sync(self.sync_client, route, native, request)
