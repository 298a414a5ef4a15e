"""PacedWriter: fewer flushes than deltas, and nothing left unflushed when the stream pauses."""

from __future__ import annotations

import asyncio
import io

from lmtui.cli.paced_output import PacedWriter


class CountingStream(io.StringIO):
    """A text stream that counts its flushes and remembers what each one made visible."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.visible = ""

    def flush(self) -> None:
        self.flushes += 1
        self.visible = self.getvalue()
        super().flush()


async def test_a_burst_of_deltas_is_flushed_once_then_once_more_when_it_pauses() -> None:
    out = CountingStream()
    paced = PacedWriter(out, interval=3600)  # no second flush by time in this test
    for _ in range(1000):
        paced.write("abcd")
    # The first delta is shown at once; the rest wait for the idle flush.
    assert out.flushes == 1 and out.visible == "abcd"
    assert out.getvalue() == "abcd" * 1000

    paced.flush()
    assert out.visible == "abcd" * 1000
    assert out.flushes == 2


async def test_the_idle_timer_flushes_what_is_pending() -> None:
    out = CountingStream()
    paced = PacedWriter(out, interval=0.01)
    paced.write("first ")
    paced.write("second")
    assert out.visible == "first "
    # The stream goes quiet: the loop's timer shows the rest without another write.
    for _ in range(200):
        await asyncio.sleep(0.01)
        if out.visible == "first second":
            break
    assert out.visible == "first second"
