"""The workbench services against the real llama.cpp server (xllamacpp + SmolLM2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lmtui.backend.client import LMStudioClient
from lmtui.backend.types import (
    ChatResult,
    CompletionRequest,
    FinishReason,
    SamplingParams,
)
from lmtui.services.compare import CompareRun, CompareTarget
from lmtui.services.local_server import LocalServer
from lmtui.services.semantic import SemanticSearch, similarity_matrix
from lmtui.store.history import HistoryStore
from lmtui.store.vectors import VectorStore
from tests.workbench.helpers import add_conversation

pytestmark = pytest.mark.real_server

# Five clearly different topics, and for each a paraphrase sharing almost no words
# with it. Checked by running: with SmolLM2's mean-pooled embeddings every
# paraphrase ranks its own conversation first, by a margin of at least 0.06.
TOPICS = {
    "bread": "How do I bake sourdough bread with a crispy crust in my oven at home?",
    "python": "My Python script raises a KeyError when reading the dictionary of settings.",
    "travel": "What are the best things to see on a holiday trip to Paris in France?",
    "garden": "When should I plant tomato seedlings in the vegetable garden this spring?",
    "finance": "Should I put my savings into an index fund or a bank deposit account?",
}
PARAPHRASES = {
    "bread": "baking a homemade loaf with a crunchy outside",
    "python": "my program crashes because a key is missing from a dict",
    "travel": "sightseeing ideas for a vacation in the French capital",
    "garden": "when to put young tomato plants in the ground",
    "finance": "where to invest the money I have saved",
}


@pytest.fixture
async def real_client(real_server: LocalServer) -> AsyncIterator[LMStudioClient]:
    """The client on the real server."""
    assert real_server.alive, f"the real server died; see {real_server.log_path}"
    async with LMStudioClient(real_server.base_url) as client:
        yield client


async def test_completion_streams_with_usage(
    real_client: LMStudioClient, real_server: LocalServer
) -> None:
    request = CompletionRequest(
        real_server.model_id,
        "The capital of France is",
        SamplingParams(max_tokens=8, temperature=0.0, seed=1),
    )
    result = ChatResult()
    deltas = 0
    async for event in real_client.stream_complete(request):
        result.apply(event)
        deltas += 1
    assert result.content.strip()
    assert result.finish_reason in (FinishReason.LENGTH, FinishReason.STOP)
    assert result.usage is not None and 0 < result.usage.completion_tokens <= 8
    assert result.client_timings is not None and result.client_timings.delta_count > 1


async def test_embeddings_matrix(real_client: LMStudioClient, real_server: LocalServer) -> None:
    texts = [TOPICS["bread"], PARAPHRASES["bread"], TOPICS["python"]]
    embedding = await real_client.embed(real_server.model_id, texts)
    matrix = similarity_matrix(embedding.vectors)

    assert embedding.dimensions == 576  # SmolLM2-135M's hidden size
    for i in range(3):
        assert matrix[i][i] == pytest.approx(1.0, abs=1e-4)
        for j in range(3):
            assert matrix[i][j] == pytest.approx(matrix[j][i], abs=1e-6)
    # The paraphrase is closer to its source than to the unrelated text.
    assert matrix[1][0] > matrix[1][2]


async def test_semantic_search_finds_a_conversation_by_paraphrase(
    real_client: LMStudioClient,
    real_server: LocalServer,
    history: HistoryStore,
    vectors: VectorStore,
) -> None:
    ids = {topic: add_conversation(history, text) for topic, text in TOPICS.items()}
    search = SemanticSearch(real_client, history, vectors, real_server.model_id, batch_size=2)
    state = await search.index()
    assert state.done == len(TOPICS)

    for topic, paraphrase in PARAPHRASES.items():
        hits = await search.search(paraphrase, words=False)
        assert hits[0].conversation_id == ids[topic], (topic, hits)
        assert len(hits) == len(TOPICS)


async def test_compare_streams_two_columns_concurrently(
    real_client: LMStudioClient, real_server: LocalServer, history: HistoryStore
) -> None:
    params = SamplingParams(max_tokens=12, temperature=0.0, seed=3)
    targets = [
        CompareTarget(real_server.model_id, "terse", "Answer in one word.", params),
        CompareTarget(real_server.model_id, "pirate", "You are a pirate.", params),
    ]
    run = CompareRun(real_client, "Name a colour.", targets)
    columns = await run.run()
    for column in columns:
        assert column.error is None
        assert column.result.content.strip()
        assert column.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
        assert 0 < column.tokens <= 12
        assert column.ttft_s is not None
    _, messages = history.get_conversation(run.keep(1, history))
    assert messages[-1].content == columns[1].result.content
    assert messages[-1].model_used
