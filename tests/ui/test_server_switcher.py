"""The server switcher (Alt+S) against several fake servers at once.

Profiles in a temporary ``config.toml``: a healthy LM Studio (``default``), a second
healthy one with other models, one that is down (a closed port), one that speaks only
the OpenAI API, and one that answers too slowly. The embedded ``local`` one is not
running unless a test says so.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmtui.services.chat import STOPPED
from lmtui.store.config import Config, load_config
from lmtui.ui.app import LmtuiApp
from lmtui.ui.launch import LaunchPlan, build_app
from lmtui.ui.server_switcher import CHECKING, ServerSwitcher
from tests.fake_server import FakeModel, FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

SLOW_SECONDS = 5.0  # longer than the switcher's probe timeout; the server stops early on close


def closed_port_url() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def second() -> Iterator[FakeServer]:
    """Another healthy LM Studio, with its own models."""
    models = [FakeModel("second-model", loaded=True), FakeModel("other-model")]
    with FakeServer(models=models) as srv:
        yield srv


@pytest.fixture
def plain() -> Iterator[FakeServer]:
    """An OpenAI-compatible server without LM Studio's native APIs."""
    with FakeServer(native_v1=False, native_v0=False) as srv:
        yield srv


@pytest.fixture
def slow() -> Iterator[FakeServer]:
    """A server whose model list takes longer than the switcher waits."""
    with FakeServer() as srv:
        srv.enqueue(Reply(first_token_delay=SLOW_SECONDS), path="/api/v1/models")
        yield srv


@pytest.fixture
def config(
    tmp_path: Path, fake: FakeServer, second: FakeServer, plain: FakeServer, slow: FakeServer
) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'base_url = "{fake.base_url}"\n'
        'model = "test-model"\n'
        f'[servers.second]\nbase_url = "{second.base_url}"\n'
        f'[servers.down]\nbase_url = "{closed_port_url()}"\nconnect_timeout = 1\n'
        f'[servers.plain]\nbase_url = "{plain.base_url}"\n'
        f'[servers.slow]\nbase_url = "{slow.base_url}"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return load_config(path)


async def open_switcher(pilot: Any, app: LmtuiApp) -> ServerSwitcher:
    await pilot.press("alt+s")
    await wait_until(pilot, lambda: isinstance(app.screen, ServerSwitcher))
    switcher = app.screen
    assert isinstance(switcher, ServerSwitcher)
    return switcher


async def choose(pilot: Any, switcher: ServerSwitcher, name: str) -> None:
    switcher.option_list.highlighted = switcher.registry.names.index(name)
    await pilot.press("enter")


async def test_switcher_shows_each_servers_health(config: Config) -> None:
    app = LmtuiApp(config)
    async with app.run_test(size=(120, 40)) as pilot:
        switcher = await open_switcher(pilot, app)
        assert switcher.registry.names == ["default", "second", "down", "plain", "slow", "local"]
        # Each row answers on its own: the fast ones are done while the slow one is checking.
        await wait_until(pilot, lambda: switcher.row_text("second") != CHECKING)
        await wait_until(pilot, lambda: switcher.row_text("down") != CHECKING)
        assert switcher.row_text("slow") == CHECKING
        await wait_until(pilot, lambda: not switcher.probing, steps=1000)
        assert switcher.row_text("default").startswith("up · LM Studio · 4 models, 2 loaded")
        assert switcher.row_text("second").startswith("up · LM Studio · 2 models, 1 loaded")
        assert switcher.row_text("down").startswith("down: ")
        assert switcher.row_text("plain").startswith("up · other · 4 models")
        assert "loaded" not in switcher.row_text("plain")  # /v1/models does not say
        assert switcher.row_text("slow").startswith("down: ")
        assert "did not answer within 1 s" in switcher.row_text("slow")
        assert switcher.row_text("local").startswith("not running")
        # The rows on screen say the same.
        prompt = str(switcher.option_list.get_option("down").prompt)
        assert "down" in prompt and "down: " in prompt
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        assert app.registry.active.name == "default"


async def test_switching_changes_the_models_and_where_requests_go(
    config: Config, fake: FakeServer, second: FakeServer
) -> None:
    second.enqueue(Reply(content="from the second server"))
    app = LmtuiApp(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.chat_screen.sidebar.models) == 4)
        switcher = await open_switcher(pilot, app)
        await choose(pilot, switcher, "second")
        await wait_until(pilot, lambda: app.chat_screen.status.server == "second")
        await wait_until(
            pilot,
            lambda: (
                [m.id for m in app.chat_screen.sidebar.models] == ["second-model", "other-model"]
            ),
        )
        assert app.registry.active.name == "second"
        assert (
            app.chat_screen.session.model == "second-model"
        )  # test-model is not there: the loaded one
        assert "second-model" in app.chat_screen.status.note
        assert app.chat_screen.status.server_ok is True
        # A new conversation goes to the new server and records its name.
        await pilot.press("ctrl+n")
        await send(pilot, "hello there")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "from the second server"
        assert second.requests_to("/v1/chat/completions")
        assert not fake.requests_to("/v1/chat/completions")
        assert second.requests_to("/v1/chat/completions")[-1].json_body["model"] == "second-model"
        assert app.history is not None and app.chat_screen.session.conversation_id is not None
        summary, records = app.history.get_conversation(app.chat_screen.session.conversation_id)
        assert summary.server == "second"
        assert records[-1].server == "second"
        # The troubleshooting panel follows the switch.
        await pilot.press("f5")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TroubleshootScreen")
        assert app.screen.client.base_url.startswith(second.base_url)  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)


async def test_switching_while_streaming_stops_the_reply_and_keeps_it(
    config: Config, fake: FakeServer, second: FakeServer
) -> None:
    words = [f"word{i} " for i in range(400)]
    fake.enqueue(Reply(deltas=words, delta_delay=0.02))
    app = LmtuiApp(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Talk for a long time")
        await wait_until(
            pilot,
            lambda: (
                len(app.chat_screen.session.entries) == 2
                and bool(app.chat_screen.session.entries[1].content)
            ),
        )
        switcher = await open_switcher(pilot, app)
        assert app.chat_screen.streaming  # opening the switcher stops nothing
        await choose(pilot, switcher, "second")
        await wait_until(pilot, lambda: app.chat_screen.status.server == "second")
        await wait_idle(pilot)
        user, reply = app.chat_screen.session.entries
        assert user.content == "Talk for a long time"
        assert reply.state == STOPPED
        assert reply.content.startswith("word0 ")
        assert len(reply.content) < len("".join(words))
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None and widget.has_class("-stopped")
        # The partial reply is in the history, marked stopped.
        assert app.history is not None and app.chat_screen.session.conversation_id is not None
        _summary, records = app.history.get_conversation(app.chat_screen.session.conversation_id)
        assert [r.role for r in records] == ["user", "assistant"]
        assert records[-1].content == reply.content
        assert records[-1].state == STOPPED
        assert records[-1].server == fake.base_url  # the label it was started with
        await wait_until(
            pilot, lambda: [m.id for m in app.chat_screen.sidebar.models][:1] == ["second-model"]
        )


async def test_switching_to_a_server_that_is_down_says_so(config: Config) -> None:
    app = LmtuiApp(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.chat_screen.sidebar.models) == 4)
        switcher = await open_switcher(pilot, app)
        await choose(pilot, switcher, "down")
        await wait_until(pilot, lambda: app.chat_screen.status.server == "down")
        await wait_until(pilot, lambda: app.chat_screen.status.server_ok is False, steps=1000)
        assert any(n.severity == "error" for n in app._notifications)
        # The embedded server is not running: choosing it changes nothing.
        switcher = await open_switcher(pilot, app)
        await choose(pilot, switcher, "local")
        await wait_until(pilot, lambda: app.screen is app.chat_screen)
        await pilot.pause()
        assert app.registry.active.name == "down"
        assert any("embedded server is not running" in n.message for n in app._notifications)


async def test_an_embedded_server_started_at_launch_is_the_local_profile(
    config: Config, second: FakeServer
) -> None:
    # A fake server stands in for the embedded llama.cpp server.
    with FakeServer(models=[FakeModel("smollm2", loaded=True)]) as embedded:
        args = type("Args", (), {"open": None})()
        plan = LaunchPlan(
            config.with_overrides(base_url=embedded.base_url, model="smollm2"),
            note="embedded llama.cpp server",
            embedded_url=embedded.base_url,
        )
        app = build_app(args, config, plan)  # type: ignore[arg-type]
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.registry.active.name == "local"
            assert app.chat_screen.status.server == "local"
            await wait_until(
                pilot, lambda: [m.id for m in app.chat_screen.sidebar.models] == ["smollm2"]
            )
            # The configured servers stay reachable: switch to one, and back.
            switcher = await open_switcher(pilot, app)
            await wait_until(pilot, lambda: switcher.row_text("local") != CHECKING)
            assert switcher.row_text("local").startswith("up")
            await choose(pilot, switcher, "second")
            await wait_until(pilot, lambda: app.chat_screen.status.server == "second")
            switcher = await open_switcher(pilot, app)
            await choose(pilot, switcher, "local")
            await wait_until(pilot, lambda: app.chat_screen.status.server == "local")
            await wait_until(
                pilot, lambda: [m.id for m in app.chat_screen.sidebar.models] == ["smollm2"]
            )
            assert app.chat_screen.session.model == "smollm2"
