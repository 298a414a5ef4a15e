"""Keys: remapping through [keys], the command palette provider, help, no idle timers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.command import DiscoveryHit

from lmtui.ui.app import LmtuiApp
from lmtui.ui.help import HelpScreen
from lmtui.ui.keymap import ActionsProvider, all_actions, display_key, help_rows, palette_entries
from tests.fake_server import FakeServer, Reply
from tests.ui.conftest import send, wait_idle, wait_until

AppFactory = Callable[..., LmtuiApp]


def test_every_action_has_a_unique_id_and_a_description() -> None:
    ids = [a.id for a in all_actions()]
    assert len(ids) == len(set(ids))
    assert all(a.description for a in all_actions())


def test_display_key_applies_remaps() -> None:
    assert display_key("ctrl+up,alt+up") == "Ctrl+↑ / Alt+↑"
    assert display_key("escape", {"stop": "ctrl+x"}, "stop") == "Ctrl+X"
    rows = help_rows({"stop": "f9"})
    assert ("F9", "Stop generating", "Chat") in rows


async def test_remapped_key_runs_the_action(fake: FakeServer, make_app: AppFactory) -> None:
    fake.enqueue(Reply(content="one"))
    fake.enqueue(Reply(content="two"))
    app = make_app(keys={"regenerate": "f5"})
    async with app.run_test() as pilot:
        await send(pilot, "hi")
        await wait_idle(pilot)
        await pilot.press("ctrl+r")  # the old key no longer regenerates
        await pilot.pause()
        assert not app.chat_screen.streaming
        assert app.chat_screen.session.entries[-1].content == "one"
        await pilot.press("f5")
        await wait_idle(pilot)
        assert app.chat_screen.session.entries[-1].content == "two"
        # Nothing ticks while idle: the frame timer belongs to a streaming reply's widget.
        assert all(w.frame_timer is None for w in app.chat_screen.chat.message_widgets())


async def test_palette_lists_every_app_action(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        provider = ActionsProvider(app.screen)
        hits = [hit async for hit in provider.discover()]
        assert all(isinstance(h, DiscoveryHit) for h in hits)
        titles = {h.display for h in hits}
        for title, _, _ in palette_entries():
            assert title in titles
        assert "Stop generating" in titles and "Copy last reply" in titles
        matches = [hit async for hit in provider.search("regen")]
        assert matches
        await pilot.pause()


async def test_f1_opens_help_with_the_chat_keys(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        descriptions = {d for _, d, _ in app.screen.rows}
        assert {"Stop generating", "Copy message", "Edit and resend"} <= descriptions
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_sidebar_collapses_on_narrow_terminals(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.chat_screen.sidebar.display
        await pilot.press("ctrl+b")
        assert app.chat_screen.sidebar.display
        await pilot.press("ctrl+b")
        assert not app.chat_screen.sidebar.display
    wide = make_app()
    async with wide.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert wide.chat_screen.sidebar.display


def test_every_binding_of_every_screen_and_widget_has_an_id() -> None:
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding

    import lmtui.ui

    missing: list[str] = []
    for info in pkgutil.walk_packages(lmtui.ui.__path__, prefix="lmtui.ui."):
        module = importlib.import_module(info.name)
        for name, cls in vars(module).items():
            if not (inspect.isclass(cls) and cls.__module__ == module.__name__):
                continue
            bindings = [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
            ids = [b.id for b in bindings]
            missing += [f"{module.__name__}.{name}: {b.key}" for b in bindings if not b.id]
            assert len(ids) == len(set(ids)), f"{name} repeats a binding id"
    assert missing == []


def test_keys_config_accepts_exactly_the_declared_ids() -> None:
    from lmtui.ui.chat_screen import ChatScreen
    from lmtui.ui.keymap import declared, keyed_classes, known_key_ids
    from lmtui.ui.sidebar import ModelSidebar

    ids = known_key_ids()
    assert {b.id for b in declared(ChatScreen)} <= ids
    assert {"sidebar.load", "sidebar.filter", "help", "history.rename"} <= ids
    assert ModelSidebar in keyed_classes()


def test_help_shows_a_remapped_sidebar_key() -> None:
    # Help reads the bindings, so a remapped sidebar key shows there too.
    rows = help_rows({"sidebar.load": "ctrl+l"})
    assert ("Ctrl+L", "Load the highlighted model (options, another instance)", "Models") in rows


async def test_the_continue_hint_follows_a_remap(make_app: AppFactory) -> None:
    from lmtui.backend.types import FinishReason
    from lmtui.services.chat import Entry
    from lmtui.ui.message import MessageWidget

    app = make_app(keys={"continue": "f9"})
    async with app.run_test() as pilot:
        entry = Entry("assistant", "cut", finish_reason=FinishReason.LENGTH)
        widget = MessageWidget(entry)
        await app.chat_screen.chat.mount(widget)
        await pilot.pause()
        assert "F9 continues" in str(widget.query_one(".meta").render())


async def test_palette_has_export_rename_mouse_and_theme_once(make_app: AppFactory) -> None:
    from lmtui.ui.keymap import palette_entries

    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        ours = [title for title, _action, _help in palette_entries()]
        system = [c.title for c in app.get_system_commands(app.screen)]
        titles = ours + system
        assert sum("theme" in t.lower() for t in titles) == 1
        assert sum(t.lower() == "quit" for t in titles) == 1
        for wanted in ("Rename this conversation", "Export this conversation", "Mouse on/off"):
            assert any(t.startswith(wanted) for t in ours), wanted


async def test_rename_and_export_the_open_conversation(
    fake: FakeServer, make_app: AppFactory, tmp_path: Path
) -> None:
    from textual.widgets import Input

    from lmtui.ui.history_prompts import ExportPrompt, RenamePrompt

    fake.enqueue(Reply(content="ok"))
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("alt+t")  # nothing saved yet: says so, opens nothing
        assert not isinstance(app.screen, RenamePrompt)
        await send(pilot, "Plan a wedding")
        await wait_idle(pilot)
        await pilot.press("alt+t")
        await pilot.pause()
        assert isinstance(app.screen, RenamePrompt)
        app.screen.query_one(Input).value = "Our wedding"
        await pilot.press("enter")
        await pilot.pause()
        assert app.history is not None and app.chat_screen.session.conversation_id is not None
        summary, _ = app.history.get_conversation(app.chat_screen.session.conversation_id)
        assert summary.title == "Our wedding"
        await pilot.press("alt+x")
        await pilot.pause()
        assert isinstance(app.screen, ExportPrompt)
        target = tmp_path / "wedding.md"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists())
    assert "Plan a wedding" in target.read_text(encoding="utf-8")


async def test_f1_and_the_palette_show_a_remapped_key_not_the_old_one(
    make_app: AppFactory,
) -> None:
    # [keys] in config.toml moves Regenerate from Ctrl+R to F5; both lists read the live key.
    app = make_app(keys={"regenerate": "f5"})
    async with app.run_test() as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {key for key, text, _ in app.screen.rows if text == "Regenerate last reply"}
        assert keys == {"F5"}
        assert all("Ctrl+R" not in key for key, _, _ in app.screen.rows)
        await pilot.press("escape")
        await pilot.pause()
        provider = ActionsProvider(app.screen)
        hits = {h.display: h.help for h in [hit async for hit in provider.discover()]}
        assert hits["Regenerate last reply"] == "F5 · Chat"
        assert all("Ctrl+R" not in (text or "") for text in hits.values())


async def test_live_keys_follow_a_keymap_set_while_running(make_app: AppFactory) -> None:
    from lmtui.ui.help import live_keys

    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert live_keys(app)["regenerate"] == "ctrl+r"
        app.update_keymap({"regenerate": "f5"})  # not through [keys]: the live map still knows
        assert live_keys(app)["regenerate"] == "f5"
        rows = help_rows(app.keymap, live_keys(app))
        assert ("F5", "Regenerate last reply", "Chat") in rows
