"""A huge reply costs no more per frame than a small one, and its end settles in bounded work.

Work is counted as the characters of Markdown handed to Rich to render (no timings).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget

from lmtui.ui.markdown_body import DRAWN_ROWS_MAX, SETTLE_MAX_CHARS, MarkdownBody, MarkdownLines
from lmtui.ui.markdown_split import CHUNK_CHARS, cut_blocks, split_points


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield MarkdownBody("")


def paragraphs(start: int, count: int) -> str:
    return "".join(
        f"Paragraph {i}: a few **words** to read, long enough for a row.\n\n"
        for i in range(start, start + count)
    )


async def stream_fast(md: MarkdownBody, pilot: Pilot[None], count: int, per_frame: int) -> None:
    """Stream "Start." then ``count`` paragraphs into ``md``, ``per_frame`` a frame (fast)."""
    md.streaming(True, 20)
    await md.append("Start.\n\n")
    await pilot.pause()
    for start in range(0, count, per_frame):
        await md.append(paragraphs(start, per_frame))
        await pilot.pause()


class Rendered:
    """Records the Markdown each render of a widget is given."""

    def __init__(self, widget: MarkdownLines, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        real = widget._render_text

        def render(text: str, width: int) -> list:  # type: ignore[type-arg]
            self.texts.append(text)
            return real(text, width)

        monkeypatch.setattr(widget, "_render_text", render)

    def take(self) -> int:
        """Characters rendered since the last call."""
        chars = sum(len(t) for t in self.texts)
        self.texts.clear()
        return chars


async def _frame_costs(count: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Stream ``count`` paragraphs in one frame, then one more; characters rendered by each."""
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(MarkdownBody)
        md.streaming(True, 20)
        await md.append("Start.\n\n")
        await pilot.pause()
        rendered = Rendered(md, monkeypatch)
        await md.append(paragraphs(0, count))  # a fast stream: much text in one frame
        await pilot.pause()
        big = rendered.take()
        await md.append(paragraphs(count, 1) + "and a tail")
        await pilot.pause()
        small = rendered.take()
        assert md.source == "Start.\n\n" + paragraphs(0, count + 1) + "and a tail"
    return big, small


async def test_a_frame_renders_what_is_seen_whatever_the_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A frame that finished 1,000 paragraphs renders the bottom of the pane, not them all.
    short_big, short_small = await _frame_costs(100, monkeypatch)
    long_big, long_small = await _frame_costs(1000, monkeypatch)
    assert long_big <= 6144  # characters: the bottom of an 80x24 pane, a few chunks
    assert long_big <= short_big + CHUNK_CHARS
    assert long_small <= short_small + CHUNK_CHARS


async def test_the_end_of_a_huge_reply_draws_a_bounded_amount(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(MarkdownBody)
        await stream_fast(md, pilot, 6000, 1000)  # ~370 kB in six fast frames
        rendered = Rendered(md, monkeypatch)
        md.finish()
        await md.settle()
        await pilot.pause()
        assert rendered.take() <= SETTLE_MAX_CHARS + 2 * CHUNK_CHARS
        assert md.step == 1  # laid out at its height (older chunks keep their estimates)
        assert "Paragraph 5999" in "".join(s.text for s in md._tail.strips or []) + "".join(
            "".join(s.text for s in c.strips or []) for c in md._chunks[-3:]
        )


def test_blocks_are_cut_at_split_points_into_bounded_pieces() -> None:
    text = paragraphs(0, 200) + "```\n" + "code line\n" * 400 + "```\n\n" + paragraphs(200, 50)
    pieces = cut_blocks(text, 1000)
    assert "".join(pieces) == text
    points = set(split_points(text))
    ends = [sum(len(p) for p in pieces[: i + 1]) for i in range(len(pieces) - 1)]
    assert all(end in points for end in ends)  # never inside a block
    fence = next(p for p in pieces if "code line" in p)
    assert fence.count("```") == 2  # the long fence stays whole
    assert all(len(p) <= 1000 for p in pieces if "```" not in p)


def test_a_tall_widget_is_filed_once_in_the_layout_map() -> None:
    # Textual files a placement under every 20-row cell it covers, at every layout: a
    # 150,000-row reply went under 7,500 cells twice a second while it streamed.
    from textual._spatial_map import SpatialMap
    from textual.geometry import Offset, Region

    from lmtui.ui.textual_compat import install_tall_region_map

    install_tall_region_map()
    spatial: SpatialMap[str] = SpatialMap()
    spatial.insert(
        [
            (Region(0, 0, 80, 3), Offset(), False, False, "short"),
            (Region(0, 3, 80, 150_000), Offset(), False, False, "tall"),
        ]
    )
    assert sum(len(values) for values in spatial._map.values()) <= 2
    assert spatial.total_region == Region(0, 0, 80, 150_003)
    assert "tall" in spatial.get_values_in_region(Region(0, 120_000, 80, 40))
    assert spatial.get_values_in_region(Region(0, 0, 80, 2)).count("short") == 1


async def test_opening_a_huge_reply_renders_what_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 5 MB reply reopened from history was one tail, rendered whole: minutes at start.
    texts: list[str] = []
    real = MarkdownLines._render_text

    def render(self: MarkdownLines, text: str, width: int) -> list:  # type: ignore[type-arg]
        texts.append(text)
        return real(self, text, width)

    monkeypatch.setattr(MarkdownLines, "_render_text", render)
    huge = paragraphs(0, 3000)  # ~190 kB

    class Opened(App[None]):
        def compose(self) -> ComposeResult:
            yield MarkdownBody(huge)

    app = Opened()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        md = app.query_one(MarkdownBody)
        assert md.source == huge
        assert sum(len(t) for t in texts) <= 5 * CHUNK_CHARS  # the rows on screen, the last piece
        texts.clear()
        await md.set_text(huge + "One more.\n")
        await pilot.pause()
        assert sum(len(t) for t in texts) <= 5 * CHUNK_CHARS  # the rows on screen, the last piece
        assert md.source.endswith("One more.\n")


def _held_rows(md: MarkdownLines) -> int:
    """Rows of frozen chunks whose drawn lines the widget still holds."""
    return sum(len(chunk.strips) for chunk in md._chunks if chunk.strips is not None)


async def test_lines_of_chunks_far_from_view_are_dropped_and_drawn_again_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every drawn row is a dozen objects each full garbage collection walks: a 5 MB reply
    # kept ~100,000 of them, and the collections grew to 80 ms while it streamed.
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(MarkdownBody)
        await stream_fast(md, pilot, 2000, 500)  # ~125 kB in four fast frames
        md.finish()
        await md.settle()
        await pilot.pause()
        shown = md.plain_text().split("\n")  # draws every chunk: what copying gets
        biggest = max(chunk.height for chunk in md._chunks)
        assert len(shown) > 3 * DRAWN_ROWS_MAX
        assert _held_rows(md) <= DRAWN_ROWS_MAX + biggest  # main: every row of the reply
        assert "Paragraph 0:" in shown[2] and "Paragraph 1999:" in "\n".join(shown[-4:])
        dropped = [i for i, chunk in enumerate(md._chunks) if chunk.strips is None]
        assert dropped and dropped[0] == 0
        # Painting a dropped chunk again draws the same lines at the same rows.
        rendered = Rendered(md, monkeypatch)
        for y in (0, 1, 2, len(shown) // 2, len(shown) - 2):
            assert md.render_line(y).text.rstrip() == shown[y]
        assert 0 < rendered.take() <= 3 * CHUNK_CHARS
        assert md.plain_text().split("\n") == shown  # nothing moved
        assert md.source.endswith(paragraphs(1999, 1))


async def test_a_refresh_of_a_tall_widget_marks_only_its_painted_lines_dirty() -> None:
    # Textual marked every row of a refreshed widget dirty: a set of 100,000 integers,
    # ~7 ms, at every layout of a 5 MB reply (and of each container around it).
    from textual.containers import VerticalScroll

    from lmtui.ui.tall_styles_cache import install_tall_styles_cache

    install_tall_styles_cache()
    huge = paragraphs(0, 16_000)  # ~1 MB at rest: ~32,000 rows, drawn only where seen

    class Tall(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield MarkdownBody(huge)

    app = Tall()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        md = app.query_one(MarkdownBody)
        assert md.size.height > 30_000
        md.refresh()  # the whole widget: Textual clears its line cache
        md.refresh(md.size.region)  # a region as tall as the widget
        assert len(md._styles_cache._dirty_lines) <= md.size.height // 1000
        scroll = app.query_one(VerticalScroll)
        scroll.scroll_end(animate=False)
        await pilot.pause()
        end = scroll.scroll_offset.y + scroll.size.height - 1
        md.refresh()
        await pilot.pause()
        assert "Paragraph 15999" in "".join(md.render_line(y).text for y in range(end - 3, end + 1))


async def test_a_tall_widget_keeps_a_bounded_number_of_painted_lines() -> None:
    # Textual's line cache kept every line painted since it was last cleared: scrolling
    # through (or streaming into) a tall reply filled it with one strip per row.
    from textual.containers import VerticalScroll

    from lmtui.ui.tall_styles_cache import HELD_LINES_MAX, install_tall_styles_cache

    install_tall_styles_cache()

    class Rows(Widget):
        DEFAULT_CSS = "Rows { height: 2000; }"  # a fixed height: nothing clears the cache

        def render_line(self, y: int) -> Strip:
            return Strip([Segment(f"row {y}")], self.size.width)

    class Tall(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Rows()

    app = Tall()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows = app.query_one(Rows)
        scroll = app.query_one(VerticalScroll)
        pages = 2 * HELD_LINES_MAX // scroll.size.height  # twice the bound's rows painted
        for _ in range(pages):
            scroll.scroll_page_down(animate=False)
            await pilot.pause()
        assert scroll.scroll_offset.y >= 2 * HELD_LINES_MAX - scroll.size.height
        assert len(rows._styles_cache._cache) <= HELD_LINES_MAX + scroll.size.height
        # What was dropped is drawn again when seen: back at the top, the first rows.
        scroll.scroll_home(animate=False)
        await pilot.pause()
        top = rows.render_lines(Region(0, 0, rows.size.width, 2))  # through the line cache
        assert [strip.text.rstrip() for strip in top] == ["row 0", "row 1"]


class Following(App[None]):
    """A reply in an anchored scrolling pane, as the chat view holds it."""

    # As the chat view's: the text keeps its width when the reply first overflows.
    CSS = "VerticalScroll { scrollbar-gutter: stable; }"

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll

        with VerticalScroll():
            yield MarkdownBody("")

    def on_mount(self) -> None:
        from textual.containers import VerticalScroll

        self.query_one(VerticalScroll).anchor()


async def test_a_fast_frame_draws_what_the_pane_will_show_before_its_layout_paints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Drawn inside the paint that laid out a fast frame, the chunks at the end of the
    # pane made that paint one long stall of the loop (10-30 ms each), and a key typed
    # then waited for it: drawn before, a turn of the loop each, the paint draws none.
    from textual.screen import Screen

    painting: list[bool] = [False]
    real_layout = Screen._refresh_layout

    def layout_and_paint(self: Screen[None], *args: object, **kwargs: object) -> None:
        painting[0] = True
        try:
            real_layout(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            painting[0] = False

    monkeypatch.setattr(Screen, "_refresh_layout", layout_and_paint)
    app = Following()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(MarkdownBody)
        md.streaming(True, 20)
        await md.append("Start.\n\n")
        await pilot.pause()
        in_paint: list[str] = []
        ahead: list[str] = []
        real = md._render_text

        def render(text: str, width: int) -> list:  # type: ignore[type-arg]
            (in_paint if painting[0] else ahead).append(text)
            return real(text, width)

        monkeypatch.setattr(md, "_render_text", render)
        for start in range(0, 2000, 500):  # four fast frames of ~30 kB
            await md.append(paragraphs(start, 500) + "and a tail")
            await pilot.pause()
            tails = {md._tail.text}
            assert [t for t in in_paint if t not in tails] == []  # main: the chunks shown
            in_paint.clear()
        assert ahead  # drawn before the layout, not skipped
        shown = md.plain_text().split("\n")
        assert "Paragraph 1999:" in "\n".join(shown[-4:])
