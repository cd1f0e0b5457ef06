"""Reads of knowledge documents: one document, a keyset page, and the re-embedding queue."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from pgvector import Vector

from apps.core import rawsql
from apps.core.keyset import KeysetList, optional
from apps.core.pagination import Page
from apps.core.validation import validated
from apps.knowledge.errors import DocumentNotFoundError, InvalidEmbeddingError, InvalidQueryError
from apps.knowledge.records import Document, PendingEmbedding
from apps.knowledge.tables import KnowledgeDocument

DocumentState = Literal["live", "deleted", "all"]

STATE_FILTERS: dict[str, str] = {
    "live": "d.deleted_at IS NULL",
    "deleted": "d.deleted_at IS NOT NULL",
    "all": "TRUE",
}
"""The condition on ``knowledge_documents d`` that keeps the documents of each state."""

LIVE_DOCUMENT = STATE_FILTERS["live"]
"""A live (not soft-deleted) document, on the alias ``d``: what every other read filters on."""

DOCUMENT_COLUMNS = (
    rawsql.columns(KnowledgeDocument, "d", exclude=("embedding",))
    + ", d.embedding IS NOT NULL AS has_embedding"
)
"""The columns of :class:`apps.knowledge.records.Document`, on the alias ``d``."""

_GET_SQL = {
    state: rawsql.statement(
        f"SELECT {DOCUMENT_COLUMNS} FROM knowledge_documents d WHERE d.id = $1 AND {condition}",
        owner=__name__,
    )
    for state, condition in STATE_FILTERS.items()
}
_EMBEDDING_SQL = rawsql.statement(
    "SELECT embedding FROM knowledge_documents WHERE id = $1", owner=__name__
)


def not_found(document_id: uuid.UUID) -> DocumentNotFoundError:
    """The error for a document that is absent (or hidden by its state)."""
    return DocumentNotFoundError(
        f"knowledge document {document_id} not found", field="document_id", rule="exists"
    )


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_get(*, document_id: uuid.UUID, include_deleted: bool = False) -> Document:
    """One document; DocumentNotFoundError when absent (or soft-deleted, unless included)."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(KnowledgeDocument),
        _GET_SQL["all" if include_deleted else "live"],
        document_id,
        record_class=Document,
    )
    if row is None:
        raise not_found(document_id)
    return row


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_embedding_get(*, document_id: uuid.UUID) -> list[float] | None:
    """The stored embedding of a document (None until embedded), deleted or not."""
    row = await rawsql.fetchrow(rawsql.engine_of(KnowledgeDocument), _EMBEDDING_SQL, document_id)
    if row is None:
        raise not_found(document_id)
    embedding: Vector | None = row["embedding"]
    return None if embedding is None else list(embedding.to_list())


# Newest first, keyset on (created_at, id).
_LIST: KeysetList[Document] = KeysetList(
    KnowledgeDocument,
    select=f"SELECT {DOCUMENT_COLUMNS} FROM knowledge_documents d",
    filters={
        "state": STATE_FILTERS,
        "category": optional("d.category = $?"),
        "tag": optional("d.tags @> ARRAY[$?]::text[]"),
    },
    order=(("d.created_at", "DESC"), ("d.id", "DESC")),
    types=(datetime.datetime, uuid.UUID),
    record_class=Document,
    owner=__name__,
)


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_list(
    *,
    category: str | None = None,
    tag: str | None = None,
    state: DocumentState = "live",
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Document]:
    """Documents, newest first, one keyset page at a time (``state`` picks live or deleted).

    The filters are part of the list: a cursor of another filter is refused.
    """
    return await _LIST.page(
        limit=limit,
        cursor=cursor,
        list_name=f"documents:{category}:{tag}:{state}",
        state=state,
        category=category,
        tag=tag,
    )


_PENDING = "(embedding IS NULL OR embedding_model <> $1)"
_PENDING_COUNT_SQL = rawsql.statement(
    f"SELECT count(*) FROM knowledge_documents WHERE {_PENDING}", owner=__name__
)
_PENDING_BATCH_SQL = {
    after: rawsql.statement(
        f"SELECT {rawsql.columns(KnowledgeDocument, only=('id', 'name', 'content', 'updated_at'))} "
        f"FROM knowledge_documents WHERE {_PENDING}{' AND id > $3' if after else ''} "
        "ORDER BY id LIMIT $2",
        owner=__name__,
    )
    for after in (False, True)
}


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_pending_embedding_count(*, model: str) -> int:
    """How many documents (deleted ones too) lack an embedding made by ``model``."""
    count: int = await rawsql.fetchval(
        rawsql.engine_of(KnowledgeDocument), _PENDING_COUNT_SQL, model
    )
    return count


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_pending_embedding_batch(
    *, model: str, after_id: uuid.UUID | None, limit: int
) -> list[PendingEmbedding]:
    """The next documents by id after ``after_id`` lacking a ``model`` embedding.

    Each row has ``id``, ``name``, ``content`` and ``updated_at`` (the reembed service uses
    it to skip rows changed meanwhile).
    """
    args: list[Any] = [model, limit] if after_id is None else [model, limit, after_id]
    return await rawsql.fetch(
        rawsql.engine_of(KnowledgeDocument),
        _PENDING_BATCH_SQL[after_id is not None],
        *args,
        record_class=PendingEmbedding,
    )
