"""Image attachments: file checks, the path prompt and the chips."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from lmtui.services.images import MAX_IMAGE_BYTES
from lmtui.ui.attach import (
    AttachmentChips,
    AttachmentError,
    AttachScreen,
    PathSuggester,
    check_image,
    load_image,
    parse_path,
)


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """A folder with a good image, impostors and a subfolder."""
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "cat.png").write_bytes(png_bytes())
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    (folder / "fake.png").write_text("just text", encoding="utf-8")
    (folder / "logo.svg").write_text("<svg/>", encoding="utf-8")
    (folder / "nested").mkdir()
    (folder / ".hidden.png").write_bytes(png_bytes())
    with (folder / "huge.png").open("wb") as handle:
        handle.write(png_bytes())
        handle.truncate(MAX_IMAGE_BYTES + 1)  # sparse: big on paper, instant to make
    return folder


def test_good_image_loads_as_a_data_url(images: Path) -> None:
    url = load_image(images / "cat.png")
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == png_bytes()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.png", "No such file"),
        ("nested", "Not a file"),
        ("notes.txt", "Not a supported image (text/plain)"),
        ("logo.svg", "Not a supported image (image/svg+xml)"),
        ("huge.png", "the limit is 20 MB"),
        ("fake.png", "named like a PNG image but its content is not"),
    ],
)
def test_bad_files_get_a_clear_error(images: Path, name: str, message: str) -> None:
    with pytest.raises(AttachmentError, match=re.escape(message)) as caught:
        load_image(images / name)
    assert caught.value.remedy
    with pytest.raises(AttachmentError):
        check_image(images / name)


def test_parse_path_handles_pasted_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_path("'/a b/c.png'") == Path("/a b/c.png")
    assert parse_path(r"/a\ b/c.png") == Path("/a b/c.png")
    assert parse_path("  ~/c.png ") == tmp_path / "c.png"
    assert parse_path("c.png", tmp_path / "base") == tmp_path / "base" / "c.png"
    assert parse_path("it's.png", tmp_path) == tmp_path / "it's.png"  # unbalanced: taken as is


async def test_path_suggester_completes_names(images: Path) -> None:
    suggester = PathSuggester(images.parent)
    assert await suggester.get_suggestion("pics/c") == "pics/cat.png"
    assert await suggester.get_suggestion("pics/ne") == "pics/nested/"
    assert await suggester.get_suggestion("pics") == "pics/"
    assert await suggester.get_suggestion(f"{images}/.h") == f"{images}/.hidden.png"
    assert await suggester.get_suggestion("pics/zzz") is None
    assert await suggester.get_suggestion("missing-dir/x") is None
    # Hidden files are only offered when asked for.
    first = await suggester.get_suggestion("pics/")
    assert first == "pics/cat.png"


class AttachHost(App[None]):
    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base
        self.results: list[Path | None] = []

    def open_prompt(self) -> None:
        self.push_screen(AttachScreen(self.base), self.results.append)


async def test_attach_screen_validates_then_returns_the_path(images: Path) -> None:
    app = AttachHost(images)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_prompt()
        await pilot.pause()
        await pilot.press("enter")
        error = app.screen.query_one("#attach-error", Static)
        assert "Type the path of an image" in str(error.content)

        await pilot.press(*"notes.txt", "enter")
        assert isinstance(app.screen, AttachScreen)
        assert "Not a supported image" in str(error.content)
        assert error.has_class("-shown")
        assert app.results == []

        path_input = app.screen.query_one("#attach-path", Input)
        path_input.value = ""
        await pilot.pause()
        assert not error.has_class("-shown")  # editing clears the error
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("tab")  # completes to cat.png
        assert path_input.value == "cat.png"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [images / "cat.png"]
        assert not isinstance(app.screen, AttachScreen)


async def test_attach_screen_escape_returns_none(images: Path) -> None:
    app = AttachHost(images)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_prompt()
        await pilot.pause()
        await pilot.press(*"cat", "escape")
        await pilot.pause()
        assert app.results == [None]


class ChipsHost(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.changes: list[list[Path]] = []

    def compose(self) -> ComposeResult:
        yield AttachmentChips(id="chips")

    def on_attachment_chips_changed(self, message: AttachmentChips.Changed) -> None:
        assert message.control is self.query_one(AttachmentChips)
        self.changes.append(message.paths)


def chip_texts(app: App[Any]) -> list[str]:
    return [str(chip.content) for chip in app.query(".chip").results(Static)]


async def test_chips_add_remove_and_clear(images: Path) -> None:
    app = ChipsHost()
    async with app.run_test(size=(80, 24)) as pilot:
        chips = app.query_one(AttachmentChips)
        assert not chips.has_class("-shown")
        cat, hidden = images / "cat.png", images / ".hidden.png"
        chips.add(cat)
        chips.add(hidden)
        chips.add(cat)  # already there
        await pilot.pause()
        assert chips.paths == [cat, hidden]
        assert chips.has_class("-shown")
        assert chip_texts(app) == ["▣ cat.png 1 KB", "▣ .hidden.png 1 KB"]

        chips.remove_last()
        await pilot.pause()
        assert chips.paths == [cat]
        assert chip_texts(app) == ["▣ cat.png 1 KB"]

        chips.clear()
        chips.clear()  # nothing left: no change
        chips.remove_last()
        await pilot.pause()
        assert chips.paths == []
        assert chip_texts(app) == []
        assert not chips.has_class("-shown")
        assert app.changes == [[cat], [cat, hidden], [cat], []]


def test_a_bmp_attaches_in_the_app_though_headless_refuses_it(tmp_path: Path) -> None:
    from lmtui.services.images import ImageError
    from lmtui.services.images import check_image as check_headless

    bmp = tmp_path / "a.bmp"
    bmp.write_bytes(b"BM" + bytes(30))
    assert check_image(bmp) == bmp
    with pytest.raises(ImageError, match="Not a supported image"):
        check_headless(bmp)
