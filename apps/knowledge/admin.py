"""The knowledge base in the admin: rich-text content, no embedding dump, read-only history.

Edits go through ``document_update`` (changed fields only): a new content bumps the version
and keeps the old one in the history, a new name or content re-embeds the document.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo_api.crud.endpoints import OrderBy

from apps.adminsite.config import GatewayTableConfig
from apps.knowledge import services
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion


async def update_document(row_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """A generic edit goes through ``document_update`` with the changed fields only: a new
    content is a new version (the old one kept in the history), a new name or content is
    re-embedded; an untouched document is not written at all."""
    await services.document_update(document_id=row_id, **changes)


async def create_document(values: dict[str, Any]) -> uuid.UUID:
    document = await services.document_create(**values)
    return document.id


TABLE_CONFIGS = [
    GatewayTableConfig(
        KnowledgeDocument,
        menu_group="Knowledge",
        hidden_columns=[KnowledgeDocument.embedding],
        # Plain text: the content is what gets embedded (a rich-text editor would wrap it
        # in HTML on every save).
        visible_columns=[
            KnowledgeDocument.name,
            KnowledgeDocument.category,
            KnowledgeDocument.version,
            KnowledgeDocument.tags,
            KnowledgeDocument.author,
            KnowledgeDocument.embedding_model,
            KnowledgeDocument.updated_at,
        ],
        visible_filters=[
            KnowledgeDocument.name,
            KnowledgeDocument.category,
            KnowledgeDocument.tags,
            KnowledgeDocument.author,
            KnowledgeDocument.created_at,
            KnowledgeDocument.deleted_at,
        ],
        order_by=[OrderBy(KnowledgeDocument.updated_at, ascending=False)],
        link_column=KnowledgeDocument.name,
        editable_columns=[
            KnowledgeDocument.name,
            KnowledgeDocument.content,
            KnowledgeDocument.category,
            KnowledgeDocument.description,
            KnowledgeDocument.tags,
            KnowledgeDocument.source,
            KnowledgeDocument.author,
            KnowledgeDocument.metadata,
        ],
        read_only_hints={
            "version": "a new content makes a new version",
            "embedding_model": "set when the document is embedded",
        },
        update=update_document,
        create=create_document,
    ),
    GatewayTableConfig(
        KnowledgeDocumentVersion,
        menu_group="Knowledge",
        read_only=True,
        visible_columns=[
            KnowledgeDocumentVersion.name,
            KnowledgeDocumentVersion.document,
            KnowledgeDocumentVersion.version,
            KnowledgeDocumentVersion.author,
            KnowledgeDocumentVersion.created_at,
        ],
        visible_filters=[
            KnowledgeDocumentVersion.document,
            KnowledgeDocumentVersion.version,
            KnowledgeDocumentVersion.created_at,
        ],
        order_by=[OrderBy(KnowledgeDocumentVersion.created_at, ascending=False)],
        link_column=KnowledgeDocumentVersion.name,
    ),
]
FORMS: list[object] = []
