"""Pilot tests of the completions and embeddings screens on a bare host app."""

from __future__ import annotations

import math

from textual.widgets import DataTable, Input, Label, Static, TextArea

from lmtui.backend.client import LMStudioClient
from lmtui.ui.workbench import CompletionsScreen, EmbeddingsScreen
from lmtui.ui.workbench.common import StreamText
from tests.fake_server import FakeModel, FakeServer, Reply, embed_text
from tests.ui.terminal_cells import parse_cells, render_screen
from tests.workbench.helpers import CHAT_MODEL, EMBEDDER, Host, wait_until

SIZE = (150, 45)


def _status(app: Host, selector: str = "#status") -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_completion_streams_with_every_parameter_sent(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    models = await client.list_models()
    app = Host(lambda: CompletionsScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CompletionsScreen)
        screen.query_one("#prompt", TextArea).text = "Once upon a time there was a fox"
        values = {
            "temperature": "0.3",
            "max_tokens": "4",
            "top_p": "0.9",
            "top_k": "40",
            "min_p": "0.05",
            "stop": "\\n\\n",
            "presence_penalty": "0.1",
            "frequency_penalty": "0.2",
            "repeat_penalty": "1.1",
            "seed": "7",
        }
        for name, value in values.items():
            screen.query_one(f"#param-{name}", Input).value = value
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "finish:" in _status(app))

        status = _status(app)
        assert "finish: length" in status and "max_tokens" in status
        assert "tokens: 8 in, 4 out" in status and "tok/s" in status
        assert screen.query_one("#output", StreamText).text == "Once upon a time"
        (request,) = fake_server.requests_to("/v1/completions")
        body = request.json_body
        assert body["prompt"] == "Once upon a time there was a fox"
        assert body["model"] == CHAT_MODEL and body["stream"] is True
        assert body["stop"] == "\n\n" and body["seed"] == 7 and body["top_k"] == 40
        assert body["temperature"] == 0.3 and body["repeat_penalty"] == 1.1


async def test_a_bad_parameter_is_named_and_nothing_is_sent(
    fake_server: FakeServer, client: LMStudioClient
) -> None:
    models = await client.list_models()
    app = Host(lambda: CompletionsScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#prompt", TextArea).text = "hello"
        app.screen.query_one("#param-temperature", Input).value = "hot"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "temperature must be a number" in _status(app)
        assert fake_server.requests_to("/v1/completions") == []


async def test_escape_stops_then_closes(fake_server: FakeServer, client: LMStudioClient) -> None:
    fake_server.enqueue(Reply(deltas=["tick "] * 200, delta_delay=0.02), "/v1/completions")
    models = await client.list_models()
    app = Host(lambda: CompletionsScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CompletionsScreen)
        screen.query_one("#prompt", TextArea).text = "count"
        await pilot.press("ctrl+r")
        output = screen.query_one("#output", StreamText)
        await wait_until(pilot, lambda: output.text.count("tick") >= 3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "finish: stopped" in _status(app))
        assert app.screen is screen  # the first Esc only stopped
        shown = output.text
        assert shown.startswith("tick tick tick") and shown.count("tick") < 200
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen)


async def test_model_text_is_made_inert(fake_server: FakeServer, client: LMStudioClient) -> None:
    fake_server.enqueue(Reply(deltas=["safe", "\x1b]0;pwned\x07", " text"]), "/v1/completions")
    models = await client.list_models()
    app = Host(lambda: CompletionsScreen(client, models, default_model=CHAT_MODEL))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#prompt", TextArea).text = "x"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "finish:" in _status(app))
        text = app.screen.query_one("#output", StreamText).text
        assert "\x1b" not in text and "\x07" not in text
        assert text.startswith("safe") and text.endswith(" text")


async def test_embeddings_matrix(fake_server: FakeServer, client: LMStudioClient) -> None:
    texts = ["red apples and pears", "green apples and pears", "a train timetable"]
    models = await client.list_models()
    app = Host(lambda: EmbeddingsScreen(client, models))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, EmbeddingsScreen)
        screen.query_one("#texts", TextArea).text = "\n".join(texts) + "\n\n"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "dimensions" in _status(app, "#info"))

        assert "3 text(s) · 64 dimensions" in _status(app, "#info")
        (request,) = fake_server.requests_to("/v1/embeddings")
        assert request.json_body == {"model": EMBEDDER, "input": texts}
        table = screen.query_one("#matrix", DataTable)
        assert table.row_count == 3 and len(table.columns) == 5
        vectors = [embed_text(t) for t in texts]
        for i in range(3):
            for j in range(3):
                expected = sum(a * b for a, b in zip(vectors[i], vectors[j], strict=True))
                cell = str(table.get_cell_at((i, j + 2)))
                assert math.isclose(float(cell), expected, abs_tol=0.0015)
        assert str(table.get_cell_at((0, 2))) == "1.000"
        assert _status(app, "#warning") == ""


async def test_embeddings_without_an_embedding_model_says_how_to_load_one() -> None:
    with FakeServer(models=[FakeModel(CHAT_MODEL, loaded=True)]) as server:
        async with LMStudioClient(server.base_url) as client:
            models = await client.list_models()
            app = Host(lambda: EmbeddingsScreen(client, models))
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                warning = _status(app, "#warning")
                assert "no embedding model" in warning and "lms load" in warning
                app.screen.query_one("#texts", TextArea).text = "one\ntwo"
                await pilot.press("ctrl+r")
                await wait_until(pilot, lambda: "Error" in _status(app, "#info"))
                assert "not an embedding model" in _status(app, "#info")


async def test_the_header_is_whole_at_80_by_24(client: LMStudioClient) -> None:
    models = await client.list_models()
    app = Host(lambda: CompletionsScreen(client, models))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        title = app.screen.query_one(".wb-title", Label).region
        cells = parse_cells(render_screen(app, "truecolor"))
        shown = "".join(
            c.char
            for c in sorted(cells, key=lambda c: (c.row, c.col))
            if title.contains(c.col, c.row)
        )
        assert shown.endswith("Ctrl+Rruns,Escstops.")  # not cut ("Esc sto")
