"""Cutting finished Markdown into chunks of bounded size, at block boundaries.

A reply's finished blocks are frozen into chunks, each rendered once and only when
seen (see ``markdown_body.py``). A chunk is rendered whole, so its size bounds the
work of showing any one of its lines: a fast stream can finish tens of kilobytes of
blocks in one frame, and one chunk of all of them would be rendered whole to show
the few rows at the bottom of the pane. See docs/rendering.md, "Huge replies".
"""

from __future__ import annotations

from collections.abc import Iterator

# A chunk grows past this only when a single block is bigger. The end of a reply draws
# the chunks the pane shows, whole: smaller ones draw less past the view's top
# (benchmarks/README.md, "TUI ÷ wire", session 6: 2 kB -> 1 kB, 72 -> 68 ms).
CHUNK_CHARS = 1024


def split_points(text: str, start: int = 0) -> Iterator[int]:
    """Every offset after ``start`` where ``text`` may be cut between two blocks.

    A split point is a blank line outside a code fence followed by a line starting at
    column 0 (so an indented continuation of a list item is never cut from its item).
    ``start`` must itself be a split point (or 0).
    """
    in_fence: str | None = None
    offset = start
    previous_blank = False
    for line in text[start:].splitlines(keepends=True):
        stripped = line.strip()
        complete = line.endswith("\n")
        if in_fence is None:
            if previous_blank and line[:1] not in (" ", "\t", "\n", "\r"):
                yield offset
            if stripped.startswith(("```", "~~~")):
                in_fence = stripped[:3]
        elif stripped.startswith(in_fence) and not stripped.strip("`~"):
            in_fence = None
        previous_blank = complete and not stripped and in_fence is None
        offset += len(line)


def cut_blocks(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """``text`` (whole blocks) cut at block boundaries into pieces of about ``limit`` characters.

    Each piece ends at the last split point that keeps it within ``limit``; a single
    block longer than ``limit`` is a piece of its own. The pieces join back to ``text``.
    """
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    start = 0
    last = 0  # the latest split point seen after ``start``
    for point in split_points(text):
        if point - start > limit and last > start:
            pieces.append(text[start:last])
            start = last
        last = point
    if len(text) - start > limit and start < last < len(text):
        pieces.append(text[start:last])
        start = last
    pieces.append(text[start:])
    return pieces
