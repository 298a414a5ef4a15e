"""Fixtures for the chat app tests: the fake server and an app factory.

Private XDG dirs come from the autouse fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from lmtui.store.config import Config
from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeServer

MODEL = "test-model"


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the environment's default theme (lmtui-dark), whatever terminal runs the tests."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeServer:
    """The project's fake LM Studio server (the shared ``fake_server`` fixture)."""
    return fake_server


@pytest.fixture
def make_app(fake: FakeServer) -> Callable[..., LmtuiApp]:
    """Build the app against the fake server, with a fixed server label for snapshots."""

    def build(**overrides: Any) -> LmtuiApp:
        cfg_values: dict[str, Any] = {"base_url": fake.base_url, "model": MODEL}
        app_values: dict[str, Any] = {"server_label": "fake-server"}
        for key, value in overrides.items():
            if key in Config.__dataclass_fields__:
                cfg_values[key] = value
            else:
                app_values[key] = value
        return LmtuiApp(Config(**cfg_values), **app_values)

    return build


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], steps: int = 400) -> None:
    """Let the app run until ``condition()`` holds (bounded by steps, not by time)."""
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.01)
    assert condition(), "the app never reached the expected state"


async def send(pilot: Pilot[Any], text: str) -> None:
    """Type a prompt into the composer and press Enter."""
    app = pilot.app
    assert isinstance(app, LmtuiApp)
    app.chat_screen.composer.focus()
    app.chat_screen.composer.insert(text)
    await pilot.press("enter")


async def wait_idle(pilot: Pilot[Any]) -> None:
    """Wait until no reply is streaming and the last frame is drawn."""
    app = pilot.app
    assert isinstance(app, LmtuiApp)
    await pilot.pause()
    await wait_until(pilot, lambda: not app.chat_screen.streaming)
    await pilot.pause()
