"""Attaching images to a message: the path prompt, the chips, and the file checks."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from lmtui.backend.errors import LmtuiError
from lmtui.backend.types import image_data_url
from lmtui.services.images import IMAGE_TYPES, check_image_file
from lmtui.ui.dialog import Dialog
from lmtui.ui.notices import error_text

# The headless types, and BMP: a picked file is shown in the chips before it is sent.
SUPPORTED_TYPES: dict[str, str] = {**IMAGE_TYPES, "image/bmp": "BMP"}


class AttachmentError(LmtuiError):
    """An image could not be attached."""

    exit_code = 2
    kind = "attachment"
    default_remedy = "Pick a PNG, JPEG, WebP, GIF or BMP file of at most 20 MB."


def parse_path(text: str, base: Path | None = None) -> Path:
    """A path typed or pasted by the user: quotes and shell escapes removed, ~ expanded.

    Terminals paste dragged files quoted or with escaped spaces; a relative path is
    taken from ``base`` (default: the current directory).
    """
    raw = text.strip()
    try:
        parts = shlex.split(raw)
    except ValueError:
        parts = []
    if len(parts) == 1:
        raw = parts[0]
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path


def check_image(path: Path) -> Path:
    """Return ``path`` if it can be attached as an image, else raise AttachmentError."""
    if not path.exists():
        raise AttachmentError(f"No such file: {path}", "Check the path (Tab completes it).")
    if not path.is_file():
        raise AttachmentError(f"Not a file: {path}")
    check_image_file(path, types=SUPPORTED_TYPES, error=AttachmentError, shown=path.name)
    return path


def load_image(path: Path) -> str:
    """Check ``path`` and read it into a data URL for a vision model."""
    check_image(path)
    try:
        return image_data_url(path)
    except (OSError, ValueError) as exc:
        raise AttachmentError(f"Cannot read {path}: {exc}") from exc


class PathSuggester(Suggester):
    """Suggests the rest of a file or directory name as the user types a path."""

    def __init__(self, base: Path | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base = base

    async def get_suggestion(self, value: str) -> str | None:
        """The first entry of the typed directory that starts with the typed name."""
        if not value.strip():
            return None
        typed_dir, _, prefix = value.rpartition("/")
        directory = Path(typed_dir + "/" if typed_dir or value.startswith("/") else ".")
        directory = directory.expanduser()
        if not directory.is_absolute():
            directory = (self.base or Path.cwd()) / directory
        try:
            names = sorted(entry.name for entry in directory.iterdir())
        except OSError:
            return None
        for name in names:
            if not name.startswith(prefix) or (name.startswith(".") and not prefix):
                continue
            rest = name[len(prefix) :] + ("/" if (directory / name).is_dir() else "")
            if rest:
                return value + rest
        return None


class AttachScreen(Dialog[Path | None]):
    """Asks for an image path; Enter returns the checked Path, Esc returns None."""

    DEFAULT_CSS = """
    AttachScreen #attach-dialog {
        width: 70;
    }
    AttachScreen #attach-error {
        height: auto;
        color: $text-error;
        display: none;
        &.-shown {
            display: block;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="attach.cancel"),
        Binding("tab", "complete", "Complete path", id="attach.complete", show=False),
    ]

    def __init__(self, base: Path | None = None) -> None:
        super().__init__()
        self.base = base

    def compose(self) -> ComposeResult:
        with Vertical(id="attach-dialog", classes="dialog-box") as dialog:
            dialog.border_title = "Attach image"
            dialog.border_subtitle = "Enter attach · Tab complete · Esc cancel"
            yield Input(
                placeholder="Path to a PNG, JPEG, WebP or GIF file",
                suggester=PathSuggester(self.base),
                id="attach-path",
            )
            yield Static(id="attach-error", markup=False)

    @on(Input.Submitted, "#attach-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self._show_error("Type the path of an image, or press Esc.")
            return
        try:
            path = check_image(parse_path(event.value, self.base))
        except AttachmentError as exc:
            self._show_error(error_text(exc))
            return
        self.dismiss(path)

    @on(Input.Changed, "#attach-path")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_error("")

    def action_cancel(self) -> None:
        """Close without attaching."""
        self.dismiss(None)

    def action_complete(self) -> None:
        """Accept the suggested completion of the path."""
        path_input = self.query_one("#attach-path", Input)
        path_input.cursor_position = len(path_input.value)
        path_input.action_cursor_right()

    def _show_error(self, text: str) -> None:
        error = self.query_one("#attach-error", Static)
        error.update(Content(text))
        error.set_class(bool(text), "-shown")


class AttachmentChips(Horizontal):
    """The files attached to the next message, one chip each."""

    DEFAULT_CSS = """
    AttachmentChips {
        height: auto;
        width: 1fr;
        display: none;
        &.-shown {
            display: block;
        }
        .chip {
            width: auto;
            height: 1;
            margin: 0 1 0 0;
            padding: 0 1;
            background: $accent 25%;
            color: $text;
        }
    }
    """

    class Changed(Message):
        """The attached files changed; ``paths`` is the new list."""

        def __init__(self, chips: AttachmentChips, paths: list[Path]) -> None:
            super().__init__()
            self.chips = chips
            self.paths = paths

        @property
        def control(self) -> AttachmentChips:
            """The chips widget that changed."""
            return self.chips

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._paths: list[Path] = []

    @property
    def paths(self) -> list[Path]:
        """The attached files, in the order they were added."""
        return list(self._paths)

    def add(self, path: Path) -> None:
        """Attach ``path`` (a file already attached is not added twice)."""
        if path in self._paths:
            return
        self._paths.append(path)
        self.mount(Static(chip_label(path), classes="chip", markup=False))
        self._changed()

    def remove_last(self) -> None:
        """Drop the most recently attached file, if any."""
        if not self._paths:
            return
        self._paths.pop()
        chips = self.query(".chip")
        if chips:
            chips.last().remove()
        self._changed()

    def clear(self) -> None:
        """Drop every attached file."""
        if not self._paths:
            return
        self._paths.clear()
        self.query(".chip").remove()
        self._changed()

    def _changed(self) -> None:
        self.set_class(bool(self._paths), "-shown")
        self.post_message(self.Changed(self, self.paths))


def chip_label(path: Path, width: int = 24) -> str:
    """A short label for a chip: the file name (shortened) and its size."""
    name = path.name if len(path.name) <= width else path.name[: width - 1] + "…"
    try:
        size = path.stat().st_size
    except OSError:
        return f"▣ {name}"
    if size >= 100_000:
        return f"▣ {name} {size / 1e6:.1f} MB"
    return f"▣ {name} {max(1, round(size / 1000))} KB"
