"""A chat sent while the server loads its model waits for it instead of failing.

llama.cpp's server (``llama-server``) answers every request with 503 "Loading model"
until its model is loaded: for a large model, a minute or more after it starts. A
reply asked for then used to end at once on that error, and the user had to send it
again. Now the request is sent again after a growing, bounded delay (0.5, 1, 2, then
every 4 s; the error as before after :attr:`LoadWait.limit_s` of waiting), each wait
said with a :class:`ServerLoading` event, and a last one with ``done`` once the server
answers. Esc (closing the stream) stops the wait like any reply. LM Studio itself
loads a model for a request while streaming its progress, and never answers 503.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass

from lmtui.backend.errors import ModelLoading
from lmtui.backend.types import RouteReport, ServerLoading, StreamEvent


@dataclass(frozen=True, slots=True)
class LoadWait:
    """How long to wait between tries, and for how long in all.

    Args:
        first: seconds before the first new try.
        ceiling: the longest wait between two tries.
        limit_s: seconds of waiting after which the error is shown as any other.
    """

    first: float = 0.5
    ceiling: float = 4.0
    limit_s: float = 300.0

    def delays(self) -> Iterator[float]:
        """The waits before each new try, until their sum would pass ``limit_s``."""
        delay, total = self.first, 0.0
        while total + delay <= self.limit_s:
            yield delay
            total += delay
            delay = min(delay * 2, self.ceiling)


async def waiting_for_load(
    open_stream: Callable[[], AsyncGenerator[StreamEvent, None]],
    policy: LoadWait,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """The events of the stream ``open_stream`` makes, made again while the server loads.

    Args:
        open_stream: makes the reply's stream, on the route chosen once (the request
            goes when the stream is read).
        policy: the waits between tries.
        sleep: how to wait (``asyncio.sleep``; tests pass one that loses a cancellation).

    Yields:
        The stream's events, with a :class:`ServerLoading` before each wait and one with
        ``done`` before the first event of an answer that came after waiting. Raises
        :class:`ModelLoading` once ``policy`` has no wait left.
    """
    import asyncio  # here: `lmtui ask` runs the sync twin and never loads asyncio

    from lmtui.services.lost_cancel import raise_a_lost_cancellation

    pause = sleep or asyncio.sleep
    waited = 0.0
    delays = policy.delays()
    while True:
        stream = open_stream()
        answered = False
        try:
            async for event in stream:
                if not answered and not isinstance(event, RouteReport):
                    answered = True
                    if waited:
                        yield ServerLoading(0.0, waited, done=True)
                yield event
            return
        except ModelLoading:
            raise_a_lost_cancellation()  # Esc during the request: no wait, no new try
            delay = None if answered else next(delays, None)
            if delay is None:
                raise
        finally:
            await stream.aclose()
        yield ServerLoading(delay, waited)
        await pause(delay)
        raise_a_lost_cancellation()
        waited += delay


def waiting_for_load_sync(
    open_stream: Callable[[], Generator[StreamEvent, None, None]],
    policy: LoadWait,
) -> Generator[StreamEvent, None, None]:
    """:func:`waiting_for_load` on the synchronous client (``lmtui ask``)."""
    waited = 0.0
    delays = policy.delays()
    while True:
        stream = open_stream()
        answered = False
        try:
            for event in stream:
                if not isinstance(event, RouteReport):
                    answered = True
                    if waited:
                        yield ServerLoading(0.0, waited, done=True)
                    yield event
                    break
                yield event
            # The rest passes through untouched: delegated, not looped over per event.
            yield from stream
            return
        except ModelLoading:
            delay = None if answered else next(delays, None)
            if delay is None:
                raise
        finally:
            stream.close()
        yield ServerLoading(delay, waited)
        time.sleep(delay)
        waited += delay
