"""The load dialog, instance rows, unload picking and download progress, in the real app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, ProgressBar, Select, Static

from lmtui.ui.app import LmtuiApp
from lmtui.ui.download_dialog import DownloadDialog
from lmtui.ui.load_dialog import LoadDialog
from tests.fake_models_admin import add_catalog, set_jit
from tests.fake_server import FakeModel, FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]
REASONER = "deepseek-r1-distill-qwen-14b"
LLM = "qwen2.5-7b-instruct"


def text_of(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Content) else str(content)


def option_texts(app: LmtuiApp) -> list[str]:
    out = []
    for option in app.query_one("#sidebar-list", OptionList).options:
        prompt = option.prompt
        out.append(prompt.plain if isinstance(prompt, Content) else str(prompt))
    return out


async def highlight(pilot: Pilot[Any], app: LmtuiApp, label_start: str) -> None:
    """Put the sidebar's cursor on the row whose text starts with ``label_start``."""
    await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
    app.chat_screen.sidebar.focus_list()
    option_list = app.query_one("#sidebar-list", OptionList)
    index = next(
        i for i, t in enumerate(option_texts(app)) if t.strip(" ▸●○◐·").startswith(label_start)
    )
    option_list.highlighted = index
    await pilot.pause()


async def open_load_dialog(pilot: Pilot[Any], app: LmtuiApp, label: str) -> LoadDialog:
    await highlight(pilot, app, label)
    await pilot.press("L")
    await wait_until(pilot, lambda: isinstance(app.screen, LoadDialog))
    dialog = app.screen
    assert isinstance(dialog, LoadDialog)
    return dialog


async def test_load_dialog_shows_limits_sends_options_and_shows_what_applied(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_load_dialog(pilot, app, REASONER)
        limits = text_of(dialog.query_one("#load-limits", Static))
        assert "max context 131,072" in limits and "about 12.1 GB for the weights" in limits
        context = dialog.query_one("#load-context", Input)
        assert "max 131,072" in context.placeholder
        assert app.focused is context
        await pilot.press(*"16384")
        dialog.query_one("#load-kv", Select).value = False  # KV cache in RAM
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: dialog.outcome is not None)
        sent = fake.requests_to("/api/v1/models/load")[-1].json_body
        assert sent == {
            "model": REASONER,
            "context_length": 16384,
            "offload_kv_cache_to_gpu": False,
            "echo_load_config": True,
        }
        result = text_of(dialog.query_one("#load-result", Static))
        assert f"Loaded {REASONER} in 1.25 s" in result
        assert "Applied: context 16,384 · batch 512 · flash attention off · KV cache in RAM" in (
            result
        )
        await pilot.press("enter")  # closes
        await wait_until(pilot, lambda: not isinstance(app.screen, LoadDialog))
        # The sidebar shows that context on that instance, in the details of its row.
        await wait_until(
            pilot,
            lambda: any(m.id == REASONER and m.loaded for m in app.chat_screen.sidebar.models),
        )
        await highlight(pilot, app, REASONER)
        details = text_of(app.query_one("#sidebar-details", Static))
        assert "16,384 / 131,072" in details
        assert "KV cache in RAM" in details

        # The options are remembered for the next time.
        again = await open_load_dialog(pilot, app, REASONER)
        assert again.query_one("#load-context", Input).value == "16384"
        assert again.query_one("#load-kv", Select).value is False
        limits = text_of(again.query_one("#load-limits", Static))
        assert "Loaded 1× (context 16,384): this loads another instance." in limits


async def test_load_dialog_refuses_what_does_not_fit_and_keeps_the_input(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_load_dialog(pilot, app, REASONER)
        await pilot.press(*"999999999", "enter")
        await pilot.pause()
        error = dialog.query_one("#load-error", Static)
        assert error.has_class("-shown") and "at most 131,072" in text_of(error)
        assert dialog.query_one("#load-context", Input).value == "999999999"
        await pilot.press(*["backspace"] * 9, *"abc", "enter")
        await pilot.pause()
        assert "whole number" in text_of(error)
        assert fake.requests_to("/api/v1/models/load") == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LoadDialog))


async def test_a_second_instance_gets_its_own_row_and_u_picks_one(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_load_dialog(pilot, app, "Qwen2.5 7B")
        await pilot.press(*"16384", "enter")
        await wait_until(pilot, lambda: dialog.outcome is not None)
        assert dialog.outcome is not None and dialog.outcome.instance_id == f"{LLM}:2"
        await pilot.press("escape")
        await wait_until(pilot, lambda: any("└ #2" in t for t in option_texts(app)))
        texts = option_texts(app)
        row = texts.index(next(t for t in texts if "Qwen2.5 7B" in t))
        assert "×2" in texts[row]
        assert texts[row + 1].strip() == "└ #1 ctx 8,192"
        assert texts[row + 2].strip() == "└ #2 ctx 16,384"
        # U on the model row with two instances: the cursor goes to the first, none unloaded.
        await highlight(pilot, app, "Qwen2.5 7B")
        await pilot.press("u")
        await pilot.pause()
        assert fake.requests_to("/api/v1/models/unload") == []
        assert "pick one, press U" in text_of(app.query_one("#sidebar-notice", Static))
        assert app.chat_screen.sidebar.highlighted_instance is not None
        await pilot.press("down")  # the second instance
        assert app.chat_screen.sidebar.highlighted_instance.id == f"{LLM}:2"
        details = text_of(app.query_one("#sidebar-details", Static))
        assert "16,384 / 32,768" in details and f"{LLM}:2" in details
        await pilot.press("u")
        await wait_until(pilot, lambda: bool(fake.requests_to("/api/v1/models/unload")))
        assert fake.requests_to("/api/v1/models/unload")[-1].json_body == {
            "instance_id": f"{LLM}:2"
        }
        await wait_until(pilot, lambda: not any("└" in t for t in option_texts(app)))


async def test_download_progress_runs_on_while_chatting(
    fake: FakeServer, make_app: AppFactory
) -> None:
    entry = add_catalog(
        fake, "some/model", FakeModel("some/model", size_bytes=3_000_000_000), steps=10**6
    )
    fake.enqueue(Reply(content="chatting while it downloads"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        # Polls far enough apart that the app idles between them: every key press
        # waits for idle, up to 1 s twice, and at 10 ms polls the app never idled.
        app.chat_screen.model_admin.poll_interval = 0.1
        await highlight(pilot, app, "Qwen2.5 7B")
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, DownloadDialog))
        dialog = app.screen
        assert isinstance(dialog, DownloadDialog)
        await pilot.press(*"some/model", "enter")
        await wait_until(pilot, lambda: app.chat_screen.model_admin.tracker.running)
        await wait_until(
            pilot, lambda: "downloading" in text_of(dialog.query_one("#download-state", Static))
        )
        bar = dialog.query_one("#download-bar", ProgressBar)
        assert bar.has_class("-shown")
        state = text_of(dialog.query_one("#download-state", Static))
        assert "/ 3.0 GB" in state and "MB/s" in state and "continues in LM Studio" in state
        await pilot.press("escape")  # the download goes on
        await wait_until(pilot, lambda: not isinstance(app.screen, DownloadDialog))
        assert app.chat_screen.status.download.startswith("↓ some/model 0% ")
        assert "/3.0 GB 50.0 MB/s " in app.chat_screen.status.download

        await send(pilot, "hello")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "chatting while it downloads"
        assert app.chat_screen.model_admin.tracker.running and app.chat_screen.status.download

        entry.steps = 1  # the next status check completes it
        await wait_until(pilot, lambda: not app.chat_screen.model_admin.tracker.running)
        await wait_until(
            pilot, lambda: any(m.id == "some/model" for m in app.chat_screen.sidebar.models)
        )
        assert app.chat_screen.status.download == ""
        assert any("some/model: downloaded" in n.message for n in app._notifications)


async def test_a_failed_download_is_explained(fake: FakeServer, make_app: AppFactory) -> None:
    add_catalog(fake, "bad/model", FakeModel("bad/model"), steps=5, fail_at=2)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.chat_screen.model_admin.poll_interval = 0.01
        app.chat_screen.model_admin.start_download("bad/model", None)
        await wait_until(
            pilot,
            lambda: (
                app.chat_screen.model_admin.tracker.job is not None
                and app.chat_screen.model_admin.tracker.job.status == "failed"
            ),
        )
        await wait_until(
            pilot, lambda: any("the download failed" in n.message for n in app._notifications)
        )
        message = next(n.message for n in app._notifications if "failed" in n.message)
        assert "Downloads panel" in message
        assert app.chat_screen.status.download == ""


async def test_the_presets_idle_ttl_is_shown_on_the_model(
    fake: FakeServer, make_app: AppFactory
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await highlight(pilot, app, "Qwen2.5 7B")
        assert "TTL" not in text_of(app.query_one("#sidebar-details", Static))
        app.chat_screen.session.params = replace(app.chat_screen.session.params, ttl=300)
        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: (
                "TTL    300 s idle (preset)" in text_of(app.query_one("#sidebar-details", Static))
            ),
        )


async def test_on_lmstudio_03_the_sidebar_offers_no_load_key(make_app: AppFactory) -> None:
    with FakeServer(native_v1=False) as srv:
        set_jit(srv, False)
        for model in srv.models:
            model.loaded = model.type == "embeddings"
        app = make_app(base_url=srv.base_url, model=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: bool(app.chat_screen.sidebar.models))
            await wait_until(pilot, lambda: bool(app.chat_screen.status.note))
            notice = text_of(app.query_one("#sidebar-notice", Static))
            assert "lms load" in notice and "press" not in notice
            assert "(l)" not in app.chat_screen.status.note
            app.chat_screen.sidebar.focus_list()
            await pilot.press("L", "D")
            await pilot.pause()
            assert not isinstance(app.screen, LoadDialog | DownloadDialog)
        assert srv.requests_to("/api/v1/models/load") == []


def test_switcher_says_needs_a_token() -> None:
    from lmtui.backend.types import Health
    from lmtui.services.servers import ServerStatus
    from lmtui.store.profiles import ServerProfile
    from lmtui.ui.server_switcher import status_text

    profile = ServerProfile(name="gpu", base_url="http://127.0.0.1:1")
    refused = Health(profile.base_url, False, None, None, "auth", None, error_kind="auth")
    down = Health(profile.base_url, False, None, None, "refused", None, error_kind="unreachable")
    assert status_text(ServerStatus(profile, refused)).startswith("needs a token: Export ")
    assert status_text(ServerStatus(profile, down)) == "down: refused"
