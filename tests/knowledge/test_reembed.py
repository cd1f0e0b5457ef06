"""Re-embedding: the service in batches, resumable, and the real `piccolo knowledge reembed`."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from apps.core.dburl import parse_database_url
from apps.knowledge import selectors, services
from apps.knowledge.embedders import HASHED_MODEL, Embedder, HashedEmbedder
from apps.knowledge.errors import EmbedderUnavailableError
from tests.conftest import run_piccolo


class CountingEmbedder(Embedder):
    """A second 'model' (the offline vectors, reversed) that can fail after some batches."""

    model = "test-model-v2"

    def __init__(self, *, batch_size: int, fail_after_batches: int | None = None) -> None:
        self.batch_size = batch_size
        self.fail_after_batches = fail_after_batches
        self.batches = 0

    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise EmbedderUnavailableError("the test embedder went away")
        self.batches += 1
        return [vector[::-1] for vector in await HashedEmbedder()._embed_batch(texts)]


async def make_documents(count: int) -> list[selectors.Document]:
    return [
        await services.document_create(
            name=f"Doc {i}", content=f"content about topic {i}", category="test"
        )
        for i in range(count)
    ]


async def test_reembed_moves_every_document_to_the_new_model_in_batches() -> None:
    # given five documents of the offline model, one of them soft-deleted
    documents = await make_documents(5)
    await services.document_soft_delete(document_id=documents[0].id)
    progress: list[tuple[int, int]] = []
    embedder = CountingEmbedder(batch_size=2)
    # when they are re-embedded two at a time
    done = await services.document_reembed(
        embedder=embedder, batch_size=2, on_progress=lambda d, t: progress.append((d, t))
    )
    # then all five carry the new model, with progress after each batch
    assert done == 5
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert await selectors.document_pending_embedding_count(model="test-model-v2") == 0
    # and a search with the new model finds them
    hits = await selectors.document_search_vector(query="topic 3", k=1, embedder=embedder)
    assert hits[0].document.name == "Doc 3"


async def test_an_interrupted_reembed_resumes_where_it_stopped() -> None:
    # given seven documents and an embedder that fails during the third batch
    await make_documents(7)
    failing = CountingEmbedder(batch_size=3, fail_after_batches=2)
    # when the run breaks off
    with pytest.raises(EmbedderUnavailableError):
        await services.document_reembed(embedder=failing, batch_size=3)
    # then the finished batches are kept
    assert await selectors.document_pending_embedding_count(model="test-model-v2") == 1
    # and the next run does only what is left
    again = CountingEmbedder(batch_size=3)
    assert await services.document_reembed(embedder=again, batch_size=3) == 1
    assert again.batches == 1
    assert await selectors.document_pending_embedding_count(model="test-model-v2") == 0


async def test_reembed_with_nothing_to_do() -> None:
    await make_documents(2)
    assert await services.document_reembed(embedder=HashedEmbedder()) == 0


async def test_reembed_command_embeds_imported_documents(migrated_database: str) -> None:
    # given a database with documents imported without embeddings (as from the old schema)
    connection = await asyncpg.connect(parse_database_url(migrated_database).dsn)
    try:
        await connection.executemany(
            "INSERT INTO knowledge_documents (name, content, category) VALUES ($1, $2, 'import')",
            [(f"Imported {i}", f"imported text number {i}") for i in range(5)],
        )
        # when the real CLI re-embeds them with the offline model, two at a time
        result = run_piccolo(
            "knowledge",
            "reembed",
            f"--model={HASHED_MODEL}",
            "--batch_size=2",
            url=migrated_database,
        )
        # then it reports progress and every document has an embedding of that model
        assert "2/5 documents" in result.stdout and "5/5 documents" in result.stdout
        assert "done: 5 documents re-embedded" in result.stdout
        rows = await connection.fetch(
            "SELECT embedding_model, embedding IS NOT NULL AS embedded FROM knowledge_documents"
        )
        assert {(row["embedding_model"], row["embedded"]) for row in rows} == {(HASHED_MODEL, True)}
        # and a second run finds nothing left to do
        again = run_piccolo("knowledge", "reembed", url=migrated_database)
        assert "done: 0 documents re-embedded" in again.stdout
        # and an API model without an API key fails in one line, exit code 1
        refused = run_piccolo(
            "knowledge",
            "reembed",
            "--model=text-embedding-3-small",
            url=migrated_database,
            check=False,
        )
        assert refused.returncode == 1
        assert refused.stderr.strip().startswith("error:")
        assert "GATEWAYDB_EMBEDDING_API_KEY" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        await connection.close()
