"""``lmtui history index`` and ``history search --semantic`` against the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmtui.backend.client import LMStudioClient
from lmtui.services.semantic import SemanticSearch
from lmtui.store.history import HistoryStore
from lmtui.store.vectors import VectorStore
from tests.conftest import RunLmtui
from tests.fake_server import FakeServer

EMBEDDER = "text-embedding-nomic-embed-text-v1.5"


def _import(run_lmtui: RunLmtui, tmp_path: Path, conversations: list[dict[str, Any]]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in conversations), encoding="utf-8")
    done = run_lmtui("history", "import", str(path))
    assert done.returncode == 0, done.stderr


def _conv(title: str, *texts: str) -> dict[str, Any]:
    roles = ("user", "assistant")
    return {
        "title": title,
        "messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)],
    }


def _three(run_lmtui: RunLmtui, tmp_path: Path) -> None:
    orchid = " ".join(["repot the orchid in bark when roots show."] * 10)
    # 1,682 characters of filler, then the orchid paragraph: two chunks of ≤ 2,000.
    long_reply = "\n\n".join([" ".join(["filler"] * 60)] * 4 + [orchid])
    _import(
        run_lmtui,
        tmp_path,
        [
            _conv("Garden", "when do tomato seedlings go outside", "after the last frost"),
            _conv("Plants", "a houseplant question", long_reply),
            _conv("Code", "python raises keyerror on a dict"),
        ],
    )


def test_index_shows_progress_and_goes_on_where_it_was(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _three(run_lmtui, tmp_path)
    url = ["--base-url", fake_server.base_url]

    done = run_lmtui("history", "index", *url)
    assert done.returncode == 0, done.stderr
    # No terminal: plain progress lines, from nothing to everything.
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"indexing with {EMBEDDER}: 0 / 5 messages")
    assert lines[-1].startswith(f"indexing with {EMBEDDER}: 5 / 5 messages (100 %)")
    assert "\r" not in done.stderr
    assert done.stdout.strip() == f"Indexed 5 new messages; 5 in all with {EMBEDDER}."

    # Up to date: a second run embeds nothing.
    before = len(fake_server.requests_to("/v1/embeddings"))
    done = run_lmtui("history", "index", *url)
    assert done.stdout.strip() == f"Indexed 0 new messages; 5 in all with {EMBEDDER}."
    assert len(fake_server.requests_to("/v1/embeddings")) == before


async def test_search_by_meaning_finds_the_conversation_and_names_the_chunk(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _three(run_lmtui, tmp_path)
    url = ["--base-url", fake_server.base_url]
    # Indexed in this process (the CLI's indexing is the test above), to stay quick.
    async with LMStudioClient(fake_server.base_url) as client:
        with HistoryStore() as history, VectorStore(history.path) as vectors:
            assert (await SemanticSearch(client, history, vectors, EMBEDDER).index()).done == 5

    done = run_lmtui("history", "search", "--semantic", "orchid roots bark", "--json", *url)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["model"] == EMBEDDER
    top = found["hits"][0]
    assert top["title"] == "Plants"
    assert (top["chunk"], top["chunks"]) == (1, 2)
    assert top["snippet"].startswith("repot the orchid in bark when roots show. repot")
    assert [h["title"] for h in found["hits"]][1:] != []

    text = run_lmtui("history", "search", "--semantic", "tomato seedlings", *url).stdout
    first = text.splitlines()[0]
    assert first.endswith("Garden"), text
    assert "chunk" not in text.splitlines()[1]  # one-chunk messages name no chunk


def test_a_chat_model_is_refused_in_one_line_with_a_remedy(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _import(run_lmtui, tmp_path, [_conv("x", "something to index")])
    done = run_lmtui(
        "history", "index", "--base-url", fake_server.base_url, "--model", "qwen2.5-7b-instruct"
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "not an embedding model" in done.stderr
    assert "remedy:" in done.stderr


def test_a_server_without_embedding_models_says_how_to_load_one(
    run_lmtui: RunLmtui, fake_server: FakeServer
) -> None:
    fake_server.models = [m for m in fake_server.models if m.type != "embeddings"]
    done = run_lmtui("history", "search", "--semantic", "x", "--base-url", fake_server.base_url)
    assert done.returncode != 0
    assert "lists no embedding model" in done.stderr
    assert "Load an embedding model" in done.stderr
    assert "Traceback" not in done.stderr
