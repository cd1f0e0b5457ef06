"""The knowledge base in the admin: rich-text content, no embedding dump, read-only history."""

from __future__ import annotations

from piccolo_api.crud.endpoints import OrderBy

from apps.adminsite.config import GatewayTableConfig
from apps.knowledge.tables import KnowledgeDocument, KnowledgeDocumentVersion

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
