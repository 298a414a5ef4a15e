"""The one-line status bar: server, model, preset, live speed, warnings."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from lmtui.services.terminal_text import make_inert


class StatusLine(Static):
    """Shows what the app is talking to and anything the user should know."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.server = ""
        self.server_ok: bool | None = None
        self.model: str | None = None
        self.preset: str | None = None
        self.speed: str = ""
        self.note: str = ""
        self.warning: str = ""
        self.download: str = ""  # a running model download's progress

    def set(
        self,
        *,
        server: str | None = None,
        server_ok: bool | None = None,
        model: str | None = None,
        preset: str | None = None,
        speed: str | None = None,
        note: str | None = None,
        warning: str | None = None,
        download: str | None = None,
    ) -> None:
        """Change some fields (None leaves a field as it is) and redraw."""
        if server is not None:
            self.server = server
        if server_ok is not None:
            self.server_ok = server_ok
        if model is not None:
            self.model = model or None
        if preset is not None:
            self.preset = preset or None
        if speed is not None:
            self.speed = speed
        if note is not None:
            self.note = note
        if warning is not None:
            self.warning = warning
        if download is not None:
            self.download = download
        self.update(self.render_content())

    def render_content(self) -> Content:
        """The status text with its styles."""
        dot = {True: ("●", "$success"), False: ("●", "$error"), None: ("○", "$text-muted")}
        mark, colour = dot[self.server_ok]
        parts: list[Content | tuple[str, str] | str] = [
            (mark, colour),
            " ",
            make_inert(self.server),
            "  │ model: ",
            (make_inert(self.model), "bold")
            if self.model
            else ("none — pick one (F2)", "$warning"),
        ]
        if self.preset:
            parts += ["  │ preset: ", make_inert(self.preset)]
        if self.speed:
            parts += ["  │ ", (self.speed, "$accent")]
        if self.download:
            parts += ["  │ ", (make_inert(self.download), "$accent")]
        if self.warning:
            parts += ["  │ ", (f"⚠ {self.warning}", "$warning")]
        if self.note:
            parts += ["  │ ", (make_inert(self.note), "$text-muted")]
        return Content.assemble(*parts)
