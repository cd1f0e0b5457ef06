"""knowledge_documents and their versions: the vector column, arrays, indexes, rules."""

import asyncpg
from pgvector import Vector as PgVector

from apps.knowledge.tables import (
    DEFAULT_EMBEDDING_MODEL,
    EMBEDDING_DIMENSIONS,
    KnowledgeDocument,
)
from tests.helpers import assert_refused, fetchrow, fetchval, insert_document


def unit_vector(index: int) -> list[float]:
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[index] = 1.0
    return vector


async def test_document_round_trips_a_1536_dimension_embedding_and_defaults() -> None:
    # given a document with an embedding
    embedding = [i / EMBEDDING_DIMENSIONS for i in range(EMBEDDING_DIMENSIONS)]
    document = KnowledgeDocument(
        name="ROAS",
        content="Return on ad spend",
        category="metrics",
        embedding=PgVector(embedding),
    )
    await document.save()
    # when it is read back
    row = await KnowledgeDocument.select().where(KnowledgeDocument.id == document.id).first()
    # then the vector is intact (float32 precision) and the defaults are set
    assert row is not None
    stored = row["embedding"]
    assert isinstance(stored, PgVector)
    values = stored.to_list()
    assert len(values) == EMBEDDING_DIMENSIONS
    assert max(abs(a - b) for a, b in zip(values, embedding, strict=True)) < 1e-6
    assert row["embedding_model"] == DEFAULT_EMBEDDING_MODEL
    assert row["tags"] == [] and row["version"] == 1
    assert row["deleted_at"] is None


async def test_embedding_of_the_wrong_length_is_refused() -> None:
    await assert_refused(
        "INSERT INTO knowledge_documents (name, content, category, embedding)"
        " VALUES ('a', 'b', 'c', $1)",
        [0.5] * 3,
        error=asyncpg.DataError,
    )


async def test_document_rules() -> None:
    await assert_refused(
        "INSERT INTO knowledge_documents (name, content, category, version)"
        " VALUES ('n', 'c', 'cat', 0)",
        error=asyncpg.CheckViolationError,
        constraint="version_is_positive",
    )
    await assert_refused(
        "INSERT INTO knowledge_documents (name, content, category) VALUES ('n', 'c', ' ')",
        error=asyncpg.CheckViolationError,
        constraint="category_not_blank",
    )
    await assert_refused(
        "INSERT INTO knowledge_documents (name, category) VALUES ('n', 'c')",
        error=asyncpg.NotNullViolationError,
    )


async def test_search_vector_is_generated_from_name_and_content() -> None:
    document_id = await insert_document(
        name="Calculating ROAS", content="Divide revenue by advertising spend."
    )
    await insert_document(name="Thumbnails", content="Bright faces get clicks.")
    found = await fetchval(
        "SELECT array_agg(id) FROM knowledge_documents"
        " WHERE search_vector @@ websearch_to_tsquery('english', 'revenue spend')"
    )
    assert found == [document_id]


async def test_tags_array_and_vector_search_work_together() -> None:
    near = await insert_document(embedding=unit_vector(0), tags=["meta", "roas"])
    await insert_document(embedding=unit_vector(1), tags=["google"])
    row = await fetchrow(
        "SELECT id, embedding <=> $1 AS distance FROM knowledge_documents"
        " WHERE tags @> ARRAY['meta'] ORDER BY embedding <=> $1 LIMIT 1",
        unit_vector(0),
    )
    assert row["id"] == near and row["distance"] == 0


async def test_versions_are_unique_per_document_and_deleted_with_it() -> None:
    document_id = await insert_document()
    sql = (
        "INSERT INTO knowledge_document_versions (document_id, version, name, content)"
        " VALUES ($1, 1, 'n', 'c')"
    )
    await fetchval(sql + " RETURNING id", document_id)
    await assert_refused(
        sql, document_id, error=asyncpg.UniqueViolationError, constraint="one_row_per_version"
    )
    await fetchval("DELETE FROM knowledge_documents WHERE id = $1 RETURNING id", document_id)
    assert (
        await fetchval(
            "SELECT count(*) FROM knowledge_document_versions WHERE document_id = $1", document_id
        )
        == 0
    )
