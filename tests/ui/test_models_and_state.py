"""Models from the sidebar, the automatic choice, reasoning, and history trouble."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Collapsible

from lmtui.backend.types import Model
from lmtui.ui.app import LmtuiApp
from lmtui.ui.load_dialog import LoadDialog
from lmtui.ui.sidebar import ModelSidebar
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


async def test_with_no_model_given_the_loaded_one_is_picked_and_named(
    make_app: AppFactory,
) -> None:
    app = make_app(model=None)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.chat_screen.session.model is not None)
        assert app.chat_screen.session.model == "qwen2.5-7b-instruct"  # the fake's one loaded LLM
        assert app.chat_screen.status.model == "qwen2.5-7b-instruct"
        assert app.chat_screen.status.note  # the reason for the choice is said


async def test_with_no_model_given_the_models_are_listed_once(
    fake: FakeServer, make_app: AppFactory
) -> None:
    # Issue 19, a lean start: the model is chosen from the list the sidebar got (asked
    # for when the app loads), not from a second listing: one round trip less before
    # the model id shows.
    app = make_app(model=None)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.chat_screen.session.model is not None)
        await wait_idle(pilot)
        assert app.chat_screen.status.model == "qwen2.5-7b-instruct"
        assert app.chat_screen.sidebar.models
        for path in ("/api/v1/models", "/api/v0/models", "/v1/models"):
            assert len(fake.requests_to(path)) == 1, path


async def test_selecting_a_model_in_the_sidebar_switches_the_chat(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(content="from the other model"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
        chosen = next(
            m for m in app.chat_screen.sidebar.models if m.id == "deepseek-r1-distill-qwen-14b"
        )
        app.chat_screen.sidebar.post_message(ModelSidebar.ModelSelected(chosen))
        await wait_until(pilot, lambda: app.chat_screen.session.model == chosen.id)
        assert app.chat_screen.status.model == chosen.id
        await send(pilot, "hi")
        await wait_idle(pilot)
        chats = fake.requests_to("/v1/chat/completions")
        assert chats[-1].json["model"] == chosen.id


async def test_load_and_unload_requests_reach_the_server_and_refresh_the_list(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
        target = next(
            m for m in app.chat_screen.sidebar.models if m.id == "deepseek-r1-distill-qwen-14b"
        )
        assert target.loaded is False
        app.chat_screen.sidebar.post_message(ModelSidebar.LoadRequested(target))
        # L opens the load dialog; Enter loads with LM Studio's defaults.
        await wait_until(pilot, lambda: isinstance(app.screen, LoadDialog))
        await pilot.press("enter")

        def loaded() -> Model | None:
            return next(
                (m for m in app.chat_screen.sidebar.models if m.id == target.id and m.loaded), None
            )

        await wait_until(pilot, lambda: loaded() is not None)
        assert fake.requests_to("/api/v1/models/load")[-1].json["model"] == target.id
        now = loaded()
        assert now is not None
        await pilot.press("escape")
        app.chat_screen.sidebar.post_message(ModelSidebar.UnloadRequested(now))
        await wait_until(
            pilot,
            lambda: any(
                m.id == target.id and m.loaded is False for m in app.chat_screen.sidebar.models
            ),
        )
        assert fake.requests_to("/api/v1/models/unload")


async def test_reasoning_is_shown_apart_and_collapsed(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(reasoning=["Let me ", "think."], content="The answer."))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "think first")
        await wait_idle(pilot)
        reply = app.chat_screen.session.entries[-1]
        assert reply.reasoning == "Let me think."
        assert reply.content == "The answer."
        widget = app.chat_screen.chat.widget_for(reply)
        assert widget is not None
        box = widget.query_one(Collapsible)
        assert box.collapsed
        await pilot.press("ctrl+up", "t")
        assert not box.collapsed


async def test_history_that_cannot_be_opened_is_reported_and_chat_goes_on(
    fake: FakeServer,
    make_app: AppFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    fake.enqueue(Reply(content="still here"))
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.history is None
        assert "history off" in app.chat_screen.status.warning
        await send(pilot, "hello")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "still here"
