"""The server switcher (Alt+S): every server profile with its health; Enter switches.

``ServerSwitcher(registry)`` lists the profiles of a
:class:`~lmtui.services.servers.ServerRegistry` and probes them all at once when it
opens, each bounded by a short timeout, in a worker: a row says "checking…" until its
own probe answers, so one slow server never holds up the others or the keyboard.
The screen's result is the chosen profile's name, or None when closed with Esc.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lmtui.services.servers import ServerRegistry, ServerStatus, token_remedy
from lmtui.services.terminal_text import make_inert
from lmtui.store.profiles import ServerProfile

SWITCHER_PROBE_TIMEOUT_S = 1.0
CHECKING = "checking…"


def status_text(status: ServerStatus | None) -> str:
    """One short line about a probe: reachable, kind, models, latency, or the error."""
    if status is None:
        return CHECKING
    if status.health is None:
        return "not running (start it with --local)"
    health = status.health
    if status.needs_token:
        return "needs a token: " + token_remedy(status.profile)
    if not health.reachable:
        return f"down: {health.error or 'no answer'}"
    parts = ["up"]
    if status.kind_label:
        parts.append(status.kind_label)
    if status.models is not None:
        loaded = f", {status.models_loaded} loaded" if status.models_loaded is not None else ""
        parts.append(f"{status.models} model{'s' if status.models != 1 else ''}{loaded}")
    if health.latency_ms is not None:
        parts.append(f"{health.latency_ms:.0f} ms")
    return " · ".join(parts)


def profile_row(profile: ServerProfile, status: ServerStatus | None, *, active: bool) -> Content:
    """The list row of one profile: mark, name, URL and its health line."""
    if status is None:
        mark, colour = "○", "$text-muted"
    elif status.reachable:
        mark, colour = "●", "$success"
    elif status.reachable is None:
        mark, colour = "○", "$text-muted"
    elif status.needs_token:
        mark, colour = "●", "$warning"  # up, but refuses lmtui: not the same as down
    else:
        mark, colour = "●", "$error"
    where = profile.base_url or ("embedded llama.cpp" if profile.embedded else "")
    head: list[Content | tuple[str, str] | str] = [
        (mark, colour),
        " ",
        (make_inert(profile.name), "bold"),
    ]
    if active:
        head.append(("  (in use)", "$accent"))
    if where:
        head += ["  ", (make_inert(where), "$text-muted")]
    line = status_text(status)
    return Content.assemble(
        *head, "\n   ", (make_inert(line), "$text-muted" if status is None else colour)
    )


class ServerSwitcher(ModalScreen[str | None]):
    """Choose the server to talk to, seeing which ones answer."""

    DEFAULT_CSS = """
    ServerSwitcher {
        align: center middle;
    }
    ServerSwitcher > #servers-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    ServerSwitcher #servers-list {
        height: auto;
        max-height: 20;
        border: none;
    }
    ServerSwitcher #servers-hint {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", show=False),
        Binding("r", "probe", "Check again", show=False),
    ]

    def __init__(
        self, registry: ServerRegistry, *, timeout: float = SWITCHER_PROBE_TIMEOUT_S
    ) -> None:
        """Probe every profile of ``registry`` (each within ``timeout`` seconds)."""
        super().__init__()
        self.registry = registry
        self.timeout = timeout
        self.statuses: dict[str, ServerStatus | None] = dict.fromkeys(registry.names)

    def compose(self) -> ComposeResult:
        with Vertical(id="servers-box") as box:
            box.border_title = "Servers"
            yield OptionList(*self._options(), id="servers-list")
            yield Static(
                "Enter switches · r checks again · Esc closes", id="servers-hint", markup=False
            )

    @property
    def option_list(self) -> OptionList:
        """The list of profiles."""
        return self.query_one("#servers-list", OptionList)

    def _options(self) -> list[Option]:
        active = self.registry.active.name
        return [
            Option(profile_row(p, self.statuses.get(p.name), active=p.name == active), id=p.name)
            for p in self.registry.profiles
        ]

    def on_mount(self) -> None:
        options = self.option_list
        names = self.registry.names
        options.highlighted = names.index(self.registry.active.name)
        options.focus()
        self.action_probe()

    def row_text(self, name: str) -> str:
        """The health line shown for profile ``name``."""
        return status_text(self.statuses.get(name))

    def _redraw(self, name: str) -> None:
        profile = self.registry.profile(name)
        row = profile_row(
            profile, self.statuses.get(name), active=name == self.registry.active.name
        )
        self.option_list.replace_option_prompt(name, row)

    def action_probe(self) -> None:
        """Check every server again."""
        for name in self.registry.names:
            self.statuses[name] = None
            self._redraw(name)
        self._probe_all()

    @work(group="server-probe", exclusive=True, exit_on_error=False)
    async def _probe_all(self) -> None:
        async def one(name: str) -> None:
            status = await self.registry.probe(name, timeout=self.timeout)
            self.statuses[name] = status
            self._redraw(name)

        await asyncio.gather(*(one(name) for name in self.registry.names))

    @property
    def probing(self) -> bool:
        """True while some profile is still being checked."""
        return any(status is None for status in self.statuses.values())

    @on(OptionList.OptionSelected, "#servers-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without switching."""
        self.dismiss(None)
