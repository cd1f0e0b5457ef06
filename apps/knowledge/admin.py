"""The knowledge base in the admin: rich-text content, no embedding dump, read-only history.

Edits go through ``document_update``: a new content bumps the version and keeps the old
one in the history, a new name or content re-embeds the document.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from piccolo.columns.base import Column
from piccolo_api.crud.endpoints import OrderBy
from piccolo_api.crud.hooks import Hook, HookType

from apps.adminsite.config import GatewayTableConfig
from apps.knowledge import services
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion

# Fields document_update owns; version, embedding and embedding_model follow from them.
SERVICE_FIELDS = ("name", "content", "category", "description", "tags", "source", "author")
DERIVED_FIELDS = ("version", "embedding_model", "updated_at")


async def update_through_the_service(
    row_id: uuid.UUID, values: dict[Column, Any]
) -> dict[Column, Any]:
    """Hand the document's own fields to ``document_update``; return what it leaves over.

    The edit form sends every field, so the derived ones (version, ...) are dropped rather
    than written back over what the service set.
    """
    by_name = {column._meta.name: value for column, value in values.items()}
    changes = {name: by_name[name] for name in SERVICE_FIELDS if name in by_name}
    if "metadata" in by_name:
        metadata = by_name["metadata"]  # the form sends JSON as text
        changes["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
    if changes:
        await services.document_update(document_id=row_id, **changes)
    handled = {*SERVICE_FIELDS, *DERIVED_FIELDS, "metadata"}
    rest = {column: value for column, value in values.items() if column._meta.name not in handled}
    # Piccolo refuses an UPDATE without values: a no-op one then.
    return rest or {KnowledgeDocument.id: row_id}


TABLE_CONFIGS = [
    GatewayTableConfig(
        KnowledgeDocument,
        menu_group="Knowledge",
        hidden_columns=[KnowledgeDocument.embedding],
        rich_text_columns=[KnowledgeDocument.content],
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
        hooks=[Hook(hook_type=HookType.pre_patch, callable=update_through_the_service)],
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
