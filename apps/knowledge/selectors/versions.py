"""Reads of a document's versions: the stored earlier ones and the current one.

The current version is the document row itself (``id`` None, ``is_current`` true); one
statement reads it together with the stored versions, so a missing document and an empty
history are told apart without a second query.
"""

from __future__ import annotations

import uuid

from apps.core import rawsql
from apps.core.validation import validated
from apps.knowledge.errors import (
    DocumentVersionNotFoundError,
    InvalidEmbeddingError,
    InvalidQueryError,
)
from apps.knowledge.records import DocumentVersion
from apps.knowledge.selectors.documents import STATE_FILTERS, document_get, not_found
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion

_CURRENT_COLUMNS = (
    "NULL::uuid AS id, d.id AS document_id, d.version, d.name, d.content, d.embedding_model, "
    "d.author, d.updated_at AS created_at, true AS is_current"
)
_STORED_COLUMNS = rawsql.columns(KnowledgeDocumentVersion, "v") + ", false AS is_current"


def _versions_sql(*, state: str, one: bool) -> str:
    # $1 the document, $2 the version number (``one``). The stored versions are joined to
    # the document so that a hidden document hides its history too.
    version = " AND d.version = $2" if one else ""
    stored_version = " AND v.version = $2" if one else ""
    return rawsql.statement(
        f"SELECT {_CURRENT_COLUMNS} FROM knowledge_documents d "
        f"WHERE d.id = $1 AND {STATE_FILTERS[state]}{version} "
        f"UNION ALL SELECT {_STORED_COLUMNS} FROM knowledge_document_versions v "
        f"JOIN knowledge_documents d ON d.id = v.document_id AND {STATE_FILTERS[state]} "
        f"WHERE v.document_id = $1{stored_version} ORDER BY version DESC",
        owner=__name__,
    )


_VERSIONS_SQL = {
    (state, one): _versions_sql(state=state, one=one)
    for state in ("live", "all")
    for one in (False, True)
}


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_version_list(
    *, document_id: uuid.UUID, include_deleted: bool = False
) -> list[DocumentVersion]:
    """Every version of a document, newest (the current one) first."""
    rows = await rawsql.fetch(
        rawsql.engine_of(KnowledgeDocument),
        _VERSIONS_SQL[("all" if include_deleted else "live", False)],
        document_id,
        record_class=DocumentVersion,
    )
    if not rows:
        raise not_found(document_id)
    return rows


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_version_get(
    *, document_id: uuid.UUID, version: int, include_deleted: bool = False
) -> DocumentVersion:
    """Version ``version`` of a document (the current one included)."""
    row = await rawsql.fetchrow(
        rawsql.engine_of(KnowledgeDocument),
        _VERSIONS_SQL[("all" if include_deleted else "live", True)],
        document_id,
        version,
        record_class=DocumentVersion,
    )
    if row is None:
        # DocumentNotFoundError when the document itself is absent; else the version is.
        await document_get(document_id=document_id, include_deleted=include_deleted)
        raise DocumentVersionNotFoundError(
            f"knowledge document {document_id} has no version {version}",
            field="version",
            rule="exists",
        )
    return row
