"""Writes of the knowledge base: documents, versions, embeddings, soft delete.

Every write that changes what a document says (name or content) re-embeds it with the
configured embedder (:func:`apps.knowledge.embedders.get_embedder`) before its transaction
opens, so no transaction waits on an embeddings API. A content change bumps ``version`` and
keeps the previous version in ``knowledge_document_versions``, in the same transaction.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final, TypedDict

from pgvector import Vector

from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.core.errors import NotFoundError
from apps.core.softdelete import purge_rows, restore_row, soft_delete_row
from apps.core.unset import UNSET, Unset, given
from apps.core.validation import validated
from apps.knowledge import selectors
from apps.knowledge.embedders import Embedder, check_embedding, get_embedder
from apps.knowledge.errors import DocumentNotFoundError, InvalidEmbeddingError
from apps.knowledge.records import Document, DocumentHead
from apps.knowledge.selectors.documents import not_found
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion


def document_text(*, name: str, content: str) -> str:
    """The text a document's embedding is made from: its name, then its content."""
    return f"{name}\n\n{content}"


def _clean_tags(tags: Sequence[str]) -> list[str]:
    """Tags stripped, blank ones dropped, duplicates removed (first occurrence kept)."""
    return list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_create(
    *,
    name: str,
    content: str,
    category: str,
    description: str | None = None,
    tags: Sequence[str] = (),
    source: str | None = None,
    author: str | None = None,
    metadata: dict[str, Any] | None = None,
    embedder: Embedder | None = None,
    document_id: uuid.UUID | None = None,
) -> Document:
    """Create a document at version 1, embedded by ``embedder`` (default: the configured one).

    ``document_id`` fixes the id (sample data and imports keep theirs); by default the
    database generates it.
    """
    embedder = embedder or get_embedder()
    vector = await embedder.embed_one(document_text(name=name, content=content))
    row = KnowledgeDocument(
        name=name,
        description=description,
        content=content,
        category=category,
        tags=_clean_tags(tags),
        source=source,
        author=author,
        metadata=metadata or {},
        embedding=Vector(vector),
        embedding_model=embedder.model,
        version=1,
    )
    if document_id is not None:
        row.id = document_id
    created = await rawsql.fetchrow_query(
        KnowledgeDocument.insert(row).returning(KnowledgeDocument.id), record_class=DocumentHead
    )
    assert created is not None  # an INSERT ... RETURNING returns its row
    return await selectors.document_get(document_id=created.id)


async def _locked(document_id: uuid.UUID) -> DocumentHead:
    """The live document's head, locked until the end of the current transaction."""
    row = await rawsql.fetchrow_query(
        KnowledgeDocument.select(
            *(getattr(KnowledgeDocument, name) for name in DocumentHead.COLUMNS)
        )
        .where((KnowledgeDocument.id == document_id) & KnowledgeDocument.deleted_at.is_null())
        .lock_rows("UPDATE"),
        record_class=DocumentHead,
    )
    if row is None:
        raise not_found(document_id)
    return row


async def _write(
    *,
    document_id: uuid.UUID,
    changes: dict[str, Any],
    new_version: bool,
    embedder: Embedder | None,
) -> Document:
    """Apply ``changes``; re-embed when name or content change; archive when asked/needed."""
    current = await selectors.document_get(document_id=document_id)
    name = changes.get("name", current.name)
    content = changes.get("content", current.content)
    text_changed = content != current.content or name != current.name
    values = dict(changes)
    if text_changed or new_version:
        embedder = embedder or get_embedder()
        values["embedding"] = Vector(
            await embedder.embed_one(document_text(name=name, content=content))
        )
        values["embedding_model"] = embedder.model
    if "metadata" in values:
        values["metadata"] = json.dumps(values["metadata"] or {})
    if "tags" in values:
        values["tags"] = _clean_tags(values["tags"])
    async with translate_errors(), KnowledgeDocument._meta.db.transaction():
        locked = await _locked(document_id)
        # Decided on the locked row: a concurrent update may have landed since the read.
        if new_version or changes.get("content", locked.content) != locked.content:
            await rawsql.execute_query(
                KnowledgeDocumentVersion.insert(
                    KnowledgeDocumentVersion(
                        document=locked.id,
                        version=locked.version,
                        name=locked.name,
                        content=locked.content,
                        embedding_model=locked.embedding_model,
                        author=locked.author,
                    )
                )
            )
            values["version"] = locked.version + 1
        if values:
            await rawsql.execute_query(
                KnowledgeDocument.update(
                    {getattr(KnowledgeDocument, key): value for key, value in values.items()}
                ).where(KnowledgeDocument.id == document_id)
            )
    return await selectors.document_get(document_id=document_id)


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_update(
    *,
    document_id: uuid.UUID,
    name: str | Unset = UNSET,
    content: str | Unset = UNSET,
    category: str | Unset = UNSET,
    description: str | Unset | None = UNSET,
    tags: Sequence[str] | Unset = UNSET,
    source: str | Unset | None = UNSET,
    author: str | Unset | None = UNSET,
    metadata: dict[str, Any] | Unset = UNSET,
    embedder: Embedder | None = None,
) -> Document:
    """Change the given fields of a live document.

    A new content bumps ``version`` by one and stores the previous name and content as a
    version row, in one transaction; a new name or content re-embeds the document.
    """
    changes = given(
        name=name,
        content=content,
        category=category,
        description=description,
        tags=tags,
        source=source,
        author=author,
        metadata=metadata,
    )
    return await _write(
        document_id=document_id, changes=changes, new_version=False, embedder=embedder
    )


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_version_restore(
    *,
    document_id: uuid.UUID,
    version: int,
    author: str | Unset | None = UNSET,
    embedder: Embedder | None = None,
) -> Document:
    """Make an earlier version's name and content current again, as a new version.

    The history stays linear: restoring version 2 of a document at version 5 makes
    version 6, equal to version 2, and keeps version 5 in the history.
    """
    earlier = await selectors.document_version_get(document_id=document_id, version=version)
    changes = given(name=earlier.name, content=earlier.content, author=author)
    return await _write(
        document_id=document_id, changes=changes, new_version=True, embedder=embedder
    )


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_embedding_set(
    *, document_id: uuid.UUID, embedding: Sequence[float], model: str
) -> None:
    """Store an embedding computed elsewhere (checked: 1536 finite values, not all zero)."""
    vector = check_embedding(embedding)
    updated = await rawsql.fetchrow_query(
        KnowledgeDocument.update(
            {KnowledgeDocument.embedding: Vector(vector), KnowledgeDocument.embedding_model: model}
        )
        .where(KnowledgeDocument.id == document_id)
        .returning(KnowledgeDocument.id),
        record_class=DocumentHead,
    )
    if updated is None:
        raise not_found(document_id)


class _RowNaming(TypedDict):
    not_found: type[NotFoundError]
    field: str
    entity: str


# How the soft-delete helpers name a missing document.
_SOFT_DELETABLE: Final[_RowNaming] = {
    "not_found": DocumentNotFoundError,
    "field": "document_id",
    "entity": "knowledge document",
}


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_soft_delete(*, document_id: uuid.UUID) -> datetime.datetime:
    """Hide a document from reads and searches; it can be restored until purged."""
    return await soft_delete_row(KnowledgeDocument, row_id=document_id, **_SOFT_DELETABLE)


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_restore(*, document_id: uuid.UUID) -> Document:
    """Bring a soft-deleted document back, with its versions and embedding."""
    await restore_row(KnowledgeDocument, row_id=document_id, **_SOFT_DELETABLE)
    return await selectors.document_get(document_id=document_id)


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_purge(*, older_than: datetime.timedelta) -> int:
    """Delete for good the documents soft-deleted more than ``older_than`` ago (and their
    versions, by cascade); return how many documents went."""
    return await purge_rows(KnowledgeDocument, older_than=older_than)


ProgressCallback = Callable[[int, int], None]

# One statement per batch (atomic on its own): the rows still as they were read get the new
# vectors; a row updated meanwhile (its update re-embedded it) is left alone.
_REEMBED_BATCH_SQL = rawsql.statement(
    "WITH updated AS (UPDATE knowledge_documents d SET embedding = u.embedding, "
    "embedding_model = $1 "
    "FROM unnest($2::uuid[], $3::vector[], $4::timestamptz[]) AS u(id, embedding, updated_at) "
    "WHERE d.id = u.id AND d.updated_at = u.updated_at RETURNING d.id) "
    "SELECT count(*)::int FROM updated",
    owner=__name__,
)


@validated(errors={"embedding": InvalidEmbeddingError})
async def document_reembed(
    *,
    embedder: Embedder | None = None,
    batch_size: int = 64,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Re-embed every document (deleted ones too) not embedded by ``embedder``'s model.

    Works in batches, each committed on its own, so an interrupted run keeps what it did and
    the next run resumes where it stopped (done rows already carry the new model). A row
    changed while its batch was being embedded is skipped: its update re-embedded it.
    ``on_progress(done, total)`` is called after each batch. Returns how many were updated.
    """
    embedder = embedder or get_embedder()
    total = await selectors.document_pending_embedding_count(model=embedder.model)
    done = 0
    after_id: uuid.UUID | None = None
    while True:
        batch = await selectors.document_pending_embedding_batch(
            model=embedder.model, after_id=after_id, limit=batch_size
        )
        if not batch:
            break
        after_id = batch[-1].id
        vectors = await embedder.embed(
            [document_text(name=row.name, content=row.content) for row in batch]
        )
        done += await rawsql.fetchval(
            rawsql.engine_of(KnowledgeDocument),
            _REEMBED_BATCH_SQL,
            embedder.model,
            [row.id for row in batch],
            [Vector(vector) for vector in vectors],
            [row.updated_at for row in batch],
        )
        if on_progress is not None:
            on_progress(done, total)
    return done
