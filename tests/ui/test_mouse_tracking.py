"""Mouse reporting: buttons and drags only (no bare motion), and a switch to turn it off."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.drivers.linux_driver import LinuxDriver

from lmtui.ui.textual_compat import MOUSE_OFF, install_button_only_mouse, set_mouse


class Recorder:
    """What a driver writes, in place of the terminal."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def write(self, data: str) -> None:
        self.out.append(data)

    def flush(self) -> None:
        pass


def driver(recorder: Recorder) -> LinuxDriver:
    made = LinuxDriver(App(), mouse=True, size=(80, 24))
    made.write = recorder.write  # type: ignore[method-assign]
    made.flush = recorder.flush  # type: ignore[method-assign]
    return made


class WithDriver:
    """Just enough of an app for set_mouse: a driver."""

    def __init__(self, drv: Any) -> None:
        self._driver = drv


async def test_mouse_tracking_is_button_only() -> None:
    install_button_only_mouse()
    rec = Recorder()
    driver(rec)._enable_mouse_support()
    sent = "".join(rec.out)
    assert "\x1b[?1000h" in sent and "\x1b[?1006h" in sent
    assert "1003h" not in sent  # no any-motion: hovering sends nothing


async def test_mouse_can_be_turned_off_and_stays_off() -> None:
    install_button_only_mouse()
    rec = Recorder()
    drv = driver(rec)
    assert set_mouse(WithDriver(drv), False)  # type: ignore[arg-type]
    assert "".join(rec.out).endswith(MOUSE_OFF)
    rec.out.clear()
    drv._enable_mouse_support()  # what a resume after $EDITOR does
    assert rec.out == []
    assert set_mouse(WithDriver(drv), True)  # type: ignore[arg-type]
    assert "\x1b[?1000h" in "".join(rec.out)


def test_no_terminal_no_switch() -> None:
    assert not set_mouse(WithDriver(None), False)  # type: ignore[arg-type]
