"""Server text in the app's notifications is inert (Pilot, against a hostile server).

Every toast passes the output layer (``lmtui.ui.notifications``): a server's error
message, a model id, Hypothesis-generated control sequences. What Textual holds to
draw, and the screen it draws, carry no ESC, BEL, C1 or bidi control.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.ui.app import LmtuiApp
from tests.fake_server import FakeModel, FakeServer, Reply
from tests.ui.conftest import send, wait_idle

AppFactory = Callable[..., LmtuiApp]
HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b31m\u202eevil\u202c\x1b[2J"
CONTROL = set("\x1b\x07\x9b\u202e\u202c\u2066\u2069\r") | {chr(c) for c in range(0x80, 0xA0)}


def shown(app: LmtuiApp) -> list[str]:
    """The text of every notification the app holds to draw."""
    return [f"{n.title} {n.message}" for n in app._notifications]


def assert_inert(texts: list[str]) -> None:
    for text in texts:
        assert not CONTROL & set(text), repr(text)


async def test_a_hostile_error_message_is_inert_in_the_notification(
    fake: FakeServer, make_app: AppFactory
) -> None:
    fake.enqueue(Reply(status=500, body={"error": {"message": f"boom {HOSTILE}"}}))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hi")
        await wait_idle(pilot)
        app.notify(f"Model: m{HOSTILE}", title=f"t{HOSTILE}")  # as a model switch would
        await pilot.pause()
        texts = shown(app)
        assert texts, "no notification was shown"
        assert_inert(texts)
        assert any("pwned" in t for t in texts)  # shown, harmlessly
        screen = app.export_screenshot()
    assert not CONTROL & set(screen)


async def test_hostile_model_ids_and_a_failing_model_list_are_inert(make_app: AppFactory) -> None:
    with FakeServer(models=[FakeModel(f"m{HOSTILE}", loaded=True)]) as srv:
        srv.enqueue(Reply(status=500, body={"error": f"list failed {HOSTILE}"}), path="/v1/models")
        app = make_app(base_url=srv.base_url, model=f"m{HOSTILE}")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert_inert(shown(app))
            screen = app.export_screenshot()
    assert not CONTROL & set(screen)


controls = st.lists(
    st.one_of(
        st.characters(codec="utf-8", categories=("Cc", "Cf")),
        st.sampled_from(["\x1b", "\x07", "\x9b", "\u202e", "]0;", "]52;c;", "[2J", "x"]),
    ),
    max_size=20,
).map("".join)


async def test_generated_control_sequences_never_reach_a_toast(make_app: AppFactory) -> None:
    app = make_app()
    sent: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:

        @settings(max_examples=200, deadline=None)
        @given(message=controls, title=controls)
        def check(message: str, title: str) -> None:
            app.notify(message + "·end", title=title, markup=False, timeout=60)
            sent.append(message)

        check()
        await pilot.pause()  # notify is thread-safe: the toasts are added by the loop
        texts = shown(app)
        assert len(texts) >= len(set(sent)) // 2  # the toasts are really there
        assert_inert(texts)
