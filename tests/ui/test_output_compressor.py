"""The output compressor: fewer bytes to the terminal, the same screen (issue 19, "thin stream").

Every check compares what a terminal shows after Textual's own output with what it
shows after the compressed output: cell by cell in ``tests/ui/vt_screen.py`` (xterm's
rules) after every frame, and in a real tmux pane (``capture-pane -e -N``).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual._compositor import CompositorUpdate
from textual.app import App

from lmtui.ui.app import LmtuiApp
from lmtui.ui.output_compressor import (
    DEFAULT,
    OutputCompressor,
    Style,
    apply_sgr,
    move_between,
    sgr_between,
)
from lmtui.ui.terminfo import boolean_capability, terminal_erases_with_background
from lmtui.ui.textual_compat import install_compact_output
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle
from tests.ui.vt_screen import Screen, visible

AppFactory = Callable[..., LmtuiApp]

# A reply with what makes terminals disagree: wide characters, emoji, box drawing,
# a table, code, a quote, a link, a heading, lines that reach the pane's edge.
REPLY = (
    "# Release notes 発表\n\n"
    "Here is a **short** summary, with a little `inline code` and an emoji 🎉 or two 👍.\n\n"
    "- 日本語のテキスト and English mixed together in one item\n"
    "- A [link](https://example.com) and *emphasis*\n\n"
    "| key | value |\n|---|---|\n| a | 1 |\n| 幅 | 2 |\n\n"
    "```python\ndef greet(name: str) -> str:\n    return f'Hello, {name}!'\n```\n\n"
    "> A quote to close the section.\n\n" + "A long line that wraps " * 12 + "\n\n"
)


class FrameRecorder:
    """Everything the app would write to a terminal, frame by frame (Textual's own output)."""

    def __init__(self, app: App[Any], color_system: str) -> None:
        self.frames: list[str] = []
        width, height = app.size
        console = Console(
            width=width,
            height=height,
            file=io.StringIO(),
            force_terminal=True,
            color_system=color_system,  # type: ignore[arg-type]
            legacy_windows=False,
        )
        show = app._display  # test-only reach: it is what the driver writes

        def display(screen: Any, renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate):
                self.frames.append(renderable.render_segments(console))
            show(screen, renderable)

        app._display = display  # type: ignore[method-assign]


def assert_same_screens(
    frames: list[str], width: int, height: int, bce: bool = True
) -> tuple[int, Screen]:
    """Feed ``frames`` and their compressed form to two terminals; they must show the same
    after every frame. Returns the compressed size and the screen."""
    compressor = OutputCompressor(bce=bce)
    plain, compact = Screen(width, height), Screen(width, height)
    for number, frame in enumerate(frames):
        plain.feed(frame)
        compact.feed(compressor.compress(frame, width, height))
        assert visible(compact) == visible(plain), f"frame {number} differs"
        assert compact.text() == plain.text()
    return compressor.bytes_out, plain


async def _record_reply(
    make_app: AppFactory, fake: FakeServer, size: tuple[int, int], color_system: str
) -> list[str]:
    fake.enqueue(Reply(text=REPLY, delta_delay=0.002))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.chat_screen.composer.cursor_blink = False
        recorder = FrameRecorder(app, color_system)
        await send(pilot, "release notes please")
        await wait_idle(pilot)
    return recorder.frames


@pytest.mark.parametrize(
    ("size", "color_system", "no_color"),
    [((120, 40), "256", False), ((80, 24), "standard", False), ((80, 24), "256", True)],
    ids=["120x40-256", "80x24-16-colours", "80x24-NO_COLOR"],
)
async def test_a_streamed_reply_draws_the_same_screen_in_fewer_bytes(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeServer,
    make_app: AppFactory,
    size: tuple[int, int],
    color_system: str,
    no_color: bool,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    frames = await _record_reply(make_app, fake, size, color_system)
    assert len(frames) >= 3
    raw = sum(len(frame) for frame in frames)
    compact, screen = assert_same_screens(frames, *size)
    assert any("wraps A long line" in line for line in screen.text())
    # Styles repeated for each piece, blanks sent as spaces and unchanged cells resent
    # were most of the bytes: at least half of them go.
    assert compact <= raw / 2, (compact, raw)


async def test_the_same_frames_show_the_same_in_tmux(
    fake: FakeServer, make_app: AppFactory, tmp_path: Path
) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    width, height = 100, 30
    frames = await _record_reply(make_app, fake, (width, height), "256")
    compressor = OutputCompressor(bce=True)
    compact = [compressor.compress(frame, width, height) for frame in frames]
    captures = [
        _tmux_capture("".join(output), width, height, tmp_path) for output in (frames, compact)
    ]
    plain, packed = (_screen_of_capture(capture, width, height) for capture in captures)
    assert plain.text() == packed.text()
    assert visible(plain) == visible(packed)
    assert any("wraps A long line" in line for line in plain.text())


def _tmux_capture(output: str, width: int, height: int, tmp_path: Path) -> str:
    """Play ``output`` in a fresh tmux pane; its cells as ``capture-pane -e -N`` gives them."""
    path = tmp_path / f"{uuid.uuid4().hex}.out"
    path.write_text(output, encoding="utf-8")
    socket = f"lmtui-compress-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    command = f"stty -echo; cat {path}; touch {path}.done; sleep 60"
    size = ["-x", str(width), "-y", str(height)]
    try:
        subprocess.run([*tmux, "new-session", "-d", "-s", "t", *size, command], check=True)
        for _ in range(500):  # bounded by steps: the pane's cat has finished
            if Path(f"{path}.done").exists():
                break
            time.sleep(0.01)
        time.sleep(0.2)  # tmux has parsed what cat wrote
        done = subprocess.run(
            [*tmux, "capture-pane", "-e", "-N", "-p", "-t", "t"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout
    finally:
        where = subprocess.run(
            [*tmux, "display-message", "-p", "#{socket_path}"], capture_output=True, text=True
        )
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False)
        if where.stdout.strip():
            Path(where.stdout.strip()).unlink(missing_ok=True)


def _screen_of_capture(capture: str, width: int, height: int) -> Screen:
    """A capture read back into cells (its styles carry over from one line to the next)."""
    screen = Screen(width, height)
    lines = capture.split("\n")[:height]
    screen.feed("".join(f"\x1b[{row};1H{line}" for row, line in enumerate(lines, 1)))
    return screen


# ---- the rules, one by one ------------------------------------------------------------


def warm(bce: bool = True) -> OutputCompressor:
    """A compressor that knows the terminal's style (as after Textual's first reset)."""
    compressor = OutputCompressor(bce=bce)
    compressor.compress("\x1b[0m", 80, 24)
    return compressor


def test_styles_are_sent_only_when_they_change() -> None:
    compressor = warm()
    frame = "\x1b[2;3H\x1b[38;5;46;48;5;233mab\x1b[0m\x1b[38;5;46;48;5;233mcd\x1b[0m"
    assert compressor.compress(frame, 80, 24) == "\x1b[2;3H\x1b[38;5;46;48;5;233mabcd\x1b[0m"
    # Only the difference: a foreground change keeps the background.
    old = apply_sgr(DEFAULT, "1;38;5;46;48;5;233")
    new = apply_sgr(DEFAULT, "38;5;80;48;5;233")
    assert old is not None and new is not None
    assert sgr_between(old, new) == "\x1b[22;38;5;80m"
    assert apply_sgr(None, "1") is None and apply_sgr(DEFAULT, "4:3") is None


def test_blank_runs_become_erases_and_unchanged_cells_are_not_sent_again() -> None:
    frame = "\x1b[1;1H\x1b[48;5;233mhi\x1b[0m\x1b[48;5;233m" + " " * 40 + "\x1b[0m\x1b[1;50Hx"
    compressor = warm()
    first = compressor.compress(frame, 80, 24)
    assert "\x1b[40X" in first and " " * 5 not in first
    assert compressor.compress(frame, 80, 24) == ""  # the same frame again: nothing to send
    assert_same_screens([frame, frame.replace("hi", "ho")], 80, 24)


def test_blanks_that_show_something_are_written() -> None:
    for style in ("7", "4", "9", "53", "4;48;5;17"):
        frame = f"\x1b[1;1H\x1b[{style}m" + " " * 20 + "\x1b[0m"
        out = warm().compress(frame, 80, 24)
        assert " " * 20 in out and "X" not in out
        assert_same_screens([frame], 80, 24)


def test_without_background_colour_erase_only_default_blanks_are_erased() -> None:
    coloured = "\x1b[1;1H\x1b[48;5;17m" + " " * 20 + "\x1b[0m"
    plain = "\x1b[2;1H\x1b[1;38;5;17m" + " " * 20 + "\x1b[0m"
    compressor = warm(bce=False)
    assert " " * 20 in compressor.compress(coloured, 80, 24)
    assert "\x1b[20X" in compressor.compress(plain, 80, 24)
    assert_same_screens([coloured, plain], 80, 24, bce=False)


def test_the_last_column_and_the_last_row() -> None:
    frames = [
        "\x1b[1;71H\x1b[48;5;17m" + " " * 10 + "\x1b[0m\x1b[2;1Hx",  # to the edge: EL
        "\x1b[24;75H\x1b[44mabcde\x1b[0m",  # a pending wrap on the last row
        "\x1b[23;1Hup\nthere\x1b[24;1H\x1b[44m" + " " * 80,  # a line feed that scrolls nothing
        "\x1b[24;1H\x1b[0mlast\n\x1b[1;1Htop",  # one that scrolls the screen
        "\x1b[5;76H\x1b[0mabcde",
        "\x1b[5;76H\x1b[0mabcdeXY",  # unchanged up to the edge, then a wrap
        "\x1b[6;70H\x1b[44m" + " " * 11 + "Z",  # blanks to the edge, then a wrap
        "\x1b[6;70H\x1b[44m" + " " * 11 + "Q\x1b[?25h",
    ]
    assert "\x1b[K" in warm().compress(frames[0], 80, 24)
    assert_same_screens(frames, 80, 24)


def test_wide_characters_leave_the_row_to_be_sent_in_full() -> None:
    # After "•" the column is Rich's estimate: text goes out as written, the next move is
    # absolute, and a blank run before that move is still an erase (same cells).
    bullet = "\x1b[3;5H\x1b[0;1m • \x1b[22mitem" + " " * 30 + "\x1b[3;60H|"
    out = warm().compress(bullet, 80, 24)
    assert "\x1b[30X\x1b[3;60H|" in out
    frames = [
        bullet,
        "\x1b[1;1H\x1b[38;5;46m日本語 text\x1b[0m" + " " * 20 + "\x1b[1;40H|",
        "\x1b[1;1H\x1b[38;5;46mabc\x1b[0m" + " " * 20 + "\x1b[1;40H|",  # over half of 本
        "\x1b[2;1H🎉 party\x1b[2;20Hx\x1b[2;3Hy",
        "\x1b[2;1H🎉 party\x1b[2;20Hx\x1b[2;3Hy",
    ]
    assert_same_screens(frames, 80, 24)


def test_escape_sequences_it_does_not_parse_make_it_forget() -> None:
    compressor = warm()
    frame = "\x1b[1;1H\x1b[44mabc\x1b[0m"
    compressor.compress(frame, 80, 24)
    cleared = compressor.compress("\x1b[2J", 80, 24)  # a clear: the cells are gone
    assert cleared == "\x1b[2J"
    assert "abc" in compressor.compress(frame, 80, 24)
    compressor.forget()
    assert "abc" in compressor.compress(frame, 80, 24)
    assert "abc" in compressor.compress(frame, 100, 30)  # resized: sent again


def test_shortest_cursor_moves() -> None:
    assert move_between(3, 10, 3, 10, "\x1b[3;10H") == ""
    assert move_between(3, 10, 3, 50, "\x1b[3;50H") == "\x1b[40C"
    assert move_between(3, 10, 3, 9, "\x1b[3;9H") == "\b"
    assert move_between(3, 120, 4, 119, "\x1b[4;119H") == "\x1b[B\b"
    assert move_between(3, 50, 30, 7, "\x1b[30;7H") == "\x1b[30;7H"


def test_random_frames_draw_the_same_screen() -> None:
    # Frames shaped like Textual's (absolute moves, styled runs, resets) with every
    # ingredient mixed at random: the compressed output must always show the same.
    rng = random.Random(19)
    styles = ["", "1", "4", "7", "9", "38;5;46", "48;5;233", "38;5;80;48;5;235", "31;44"]
    styles += ["1;3;38;2;10;20;30;48;2;1;2;3", "2;38;5;8", "53", "97;100"]
    texts = ["hello", " ", "    ", " " * 17, "日本", "🎉", "─" * 5, "a b  c", "x" * 30]
    for width, height in ((40, 12), (80, 24)):
        frames = []
        for _ in range(60):
            parts = []
            for _ in range(rng.randint(1, 12)):
                if rng.random() < 0.5:
                    # A few places, over and over: cells are often redrawn in new styles.
                    row = rng.choice([1, 2, 3, height - 1, height])
                    col = rng.choice([1, 2, 5, 9, width - 20, width - 5, width - 1, width])
                    parts.append(f"\x1b[{row};{col}H")
                text = rng.choice(texts)
                style = rng.choice(styles)
                parts.append(f"\x1b[{style}m{text}\x1b[0m" if style else text)
                if rng.random() < 0.1:
                    parts.append("\n")
            frames.append("".join(parts))
        assert_same_screens(frames, width, height)
        assert_same_screens(frames, width, height, bce=False)


# ---- where it is plugged in -----------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, data: str) -> None:
        self.written.append(data)


class _Driver:
    """Duck-types the LinuxDriver attributes the patched ``write`` uses."""

    def __init__(self, compressor: Any) -> None:
        self._app = type("FakeApp", (), {"output_compressor": compressor})()
        self._file = io.StringIO()  # no terminal: no size, only styles are rewritten
        self._writer_thread = _Writer()


def test_the_driver_writes_through_the_apps_compressor() -> None:
    from textual.drivers.linux_driver import LinuxDriver

    install_compact_output()
    install_compact_output()  # idempotent
    frame = "\x1b[1;1H\x1b[44mab\x1b[0m\x1b[44mcd\x1b[0m"
    driver = _Driver(warm())
    LinuxDriver.write(driver, frame)  # type: ignore[arg-type]
    assert driver._writer_thread.written == ["\x1b[1;1H\x1b[44mabcd\x1b[0m"]
    plain = _Driver(None)  # an app that did not opt in: Textual's output
    LinuxDriver.write(plain, frame)  # type: ignore[arg-type]
    assert plain._writer_thread.written == [frame]


def test_a_failing_compressor_falls_back_to_textuals_output() -> None:
    from textual.drivers.linux_driver import LinuxDriver

    class Broken(OutputCompressor):
        def compress(self, data: str, width: int | None = None, height: int | None = None) -> str:
            raise RuntimeError("bug")

    install_compact_output()
    driver = _Driver(Broken())
    LinuxDriver.write(driver, "abc")  # type: ignore[arg-type]
    LinuxDriver.write(driver, "def")  # type: ignore[arg-type]
    assert driver._writer_thread.written == ["abc", "def"]
    assert driver._app.output_compressor is None


def test_the_app_compresses_unless_configured_off(make_app: AppFactory) -> None:
    assert isinstance(make_app().output_compressor, OutputCompressor)
    assert make_app(compact_output=False).output_compressor is None


async def test_a_resize_makes_the_app_send_the_next_frames_whole(make_app: AppFactory) -> None:
    # The terminal may have dropped or moved cells, even if the size comes back the same.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        compressor = app.output_compressor
        assert compressor is not None
        frame = "\x1b[0m\x1b[1;1H\x1b[44mabc\x1b[0m"
        compressor.compress(frame, 80, 24)
        assert "abc" not in compressor.compress(frame, 80, 24)  # already on screen
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert "abc" in compressor.compress(frame, 80, 24)


def test_background_colour_erase_is_known_from_tmux_or_terminfo(tmp_path: Path) -> None:
    assert terminal_erases_with_background({"TMUX": "/tmp/tmux-1/default,1,0", "TERM": "screen"})
    assert not terminal_erases_with_background({})
    assert not terminal_erases_with_background({"TERM": "no-such-terminal-xyz"})
    # Compiled entries as tic writes them: header, names, booleans (bce is the 29th).
    for term, flag in (("withbce", 1), ("nobce", 0)):
        names = f"{term}|test entry\0".encode()
        booleans = bytes([0] * 28 + [flag])
        header = struct.pack("<6h", 0o432, len(names), len(booleans), 0, 0, 0)
        (tmp_path / term[0]).mkdir(exist_ok=True)
        (tmp_path / term[0] / term).write_bytes(header + names + booleans)
    assert terminal_erases_with_background({"TERM": "withbce", "TERMINFO": str(tmp_path)})
    assert not terminal_erases_with_background({"TERM": "nobce", "TERMINFO": str(tmp_path)})
    assert boolean_capability("bce", {"TERM": "nobce", "TERMINFO": str(tmp_path)}) is False
    assert boolean_capability("bce", {"TERM": "../etc/passwd"}) is None


def test_style_model_round_trip() -> None:
    style = apply_sgr(DEFAULT, "1;4;38;5;46;48;2;1;2;3")
    assert style == Style(frozenset({1, 4}), "38;5;46", "48;2;1;2;3")
    assert apply_sgr(style, "22;24;39;49") == DEFAULT
    assert sgr_between(style, DEFAULT) == "\x1b[0m"
