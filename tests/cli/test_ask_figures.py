"""``lmtui ask -v`` reports the same speed and first-token figures as the TUI's footer."""

from __future__ import annotations

from lmtui.backend.types import ClientTimings, ServerTimings, Usage
from lmtui.services.chat import Entry
from lmtui.services.live_stats import reply_figures
from lmtui.ui.message import describe_footer
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer, Reply

TIMINGS = {
    "prompt_n": 3,
    "prompt_ms": 12.0,
    "predicted_n": 2,
    "predicted_ms": 25.8,
    "predicted_per_second": 77.5,
}


def test_reply_figures_prefer_the_server_speed_and_counted_tokens() -> None:
    client = ClientTimings(
        time_to_first_token_s=0.25, total_s=1.0, delta_count=4, tokens_per_second=5.0
    )
    both = reply_figures(
        Usage(prompt_tokens=1, completion_tokens=9, total_tokens=10),
        client,
        ServerTimings(tokens_per_second=77.5),
    )
    assert (both.tokens, both.first_token_s, both.tokens_per_second, both.total_s) == (
        9,
        0.25,
        77.5,
        1.0,
    )
    alone = reply_figures(None, client, None)
    assert (alone.tokens, alone.tokens_per_second) == (4, 5.0)
    nothing = reply_figures(None, None, ServerTimings())
    assert (nothing.tokens, nothing.first_token_s, nothing.tokens_per_second) == (None, None, None)


def test_verbose_speed_is_the_servers_as_in_the_tui(
    fake_server: FakeServer, run_lmtui: RunLmtui
) -> None:
    fake_server.enqueue(Reply(deltas=["Hel", "lo."], timings=TIMINGS))
    done = run_lmtui(
        "--base-url", fake_server.base_url, "ask", "--no-save", "--native", "off", "-v", "hi"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello.\n"  # piped: exactly the answer
    report = done.stderr.splitlines()[-1]
    assert "speed: 77.5 tok/s" in report
    assert "first token: " in report and "total: " in report


def test_tui_footer_shows_the_same_figures() -> None:
    client = ClientTimings(
        time_to_first_token_s=0.25, total_s=1.0, delta_count=4, tokens_per_second=5.0
    )
    entry = Entry(
        role="assistant",
        content="ok",
        client_timings=client,
        server_timings=ServerTimings(tokens_per_second=77.5),
    )
    footer = describe_footer(entry)
    assert "4 tok" in footer and "TTFT 0.25 s" in footer and "77.5 tok/s" in footer
    assert "5.0 tok/s" not in footer
