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
    """Import into the test's history in this process (one subprocess less per test)."""
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in conversations), encoding="utf-8")
    with HistoryStore() as history:
        assert history.import_file(path) == len(conversations)


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


async def _index_here(fake_server: FakeServer) -> int:
    """Index the test's history in this process (the CLI's indexing has its own test)."""
    async with LMStudioClient(fake_server.base_url) as client:
        with HistoryStore() as history, VectorStore(history.path) as vectors:
            return (await SemanticSearch(client, history, vectors, EMBEDDER).index()).done


def test_index_shows_progress(run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path) -> None:
    _three(run_lmtui, tmp_path)
    done = run_lmtui("history", "index", "--base-url", fake_server.base_url)
    assert done.returncode == 0, done.stderr
    # No terminal: plain progress lines, from nothing to everything.
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"indexing with {EMBEDDER}: 0 / 5 messages")
    assert lines[-1].startswith(f"indexing with {EMBEDDER}: 5 / 5 messages (100 %)")
    assert "\r" not in done.stderr
    assert done.stdout.strip() == f"Indexed 5 new messages; 5 in all with {EMBEDDER}."


async def test_index_goes_on_where_it_was(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _three(run_lmtui, tmp_path)
    assert await _index_here(fake_server) == 5
    _import(run_lmtui, tmp_path, [_conv("New", "one more question")])
    before = len(fake_server.requests_to("/v1/embeddings"))
    done = run_lmtui("history", "index", "--base-url", fake_server.base_url)
    assert done.stdout.strip() == f"Indexed 1 new messages; 6 in all with {EMBEDDER}."
    sent = [r.json_body["input"] for r in fake_server.requests_to("/v1/embeddings")[before:]]
    assert sent == [["one more question"]]


async def test_search_by_meaning_names_the_chunk(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _three(run_lmtui, tmp_path)
    assert await _index_here(fake_server) == 5
    done = run_lmtui(
        "history",
        "search",
        "--semantic",
        "orchid roots bark",
        "--json",
        "--base-url",
        fake_server.base_url,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["model"] == EMBEDDER
    top = found["hits"][0]
    assert top["title"] == "Plants"
    assert (top["chunk"], top["chunks"]) == (1, 2)
    assert top["snippet"].startswith("repot the orchid in bark when roots show. repot")
    assert len(found["hits"]) == 3  # one per conversation


async def test_search_by_meaning_as_text(
    run_lmtui: RunLmtui, fake_server: FakeServer, tmp_path: Path
) -> None:
    _three(run_lmtui, tmp_path)
    assert await _index_here(fake_server) == 5
    url = ["--base-url", fake_server.base_url]
    text = run_lmtui("history", "search", "--semantic", "orchid roots bark", *url).stdout
    lines = text.splitlines()
    assert lines[0].endswith("Plants"), text
    assert "chunk 2 of 2] repot the orchid in bark" in lines[1]
    # The other hits are one-chunk messages: they name no chunk.
    assert len(lines) == 6 and all("chunk" not in line for line in lines[2:])


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
