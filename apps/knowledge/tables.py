"""The RAG knowledge base: versioned documents with vector embeddings.

Created by migrations beside these columns: the HNSW cosine index on ``embedding``, a GIN
index on ``tags``, and a generated ``search_vector`` tsvector column (weighted name and
content) with its GIN index for full-text search.
"""

from __future__ import annotations

from piccolo.columns import JSONB, Array, ForeignKey, Integer, Text
from piccolo.columns.base import OnDelete
from piccolo.columns.readable import Readable
from piccolo.constraints import Check, Unique
from piccolo.table import Table

from apps.core.columns import Vector
from apps.core.schema import (
    created_at_column,
    deleted_at_column,
    id_column,
    updated_at_column,
)

EMBEDDING_DIMENSIONS = 1536
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"


class KnowledgeDocument(Table, tablename="knowledge_documents"):
    """A document of the knowledge base; ``version`` goes up each time its content changes."""

    id = id_column()

    @classmethod
    def get_readable(cls) -> Readable:
        """How the admin names a document wherever one is referenced (lists, pickers)."""
        return Readable(template="%s", columns=[cls.name])

    name = Text(required=True, default=None)
    description = Text(null=True, default=None)
    content = Text(required=True, default=None)
    embedding = Vector(dimensions=EMBEDDING_DIMENSIONS, null=True)
    embedding_model = Text(default=DEFAULT_EMBEDDING_MODEL)
    category = Text(required=True, default=None, index=True)
    tags = Array(base_column=Text(), default=list)
    version = Integer(default=1, index=True)
    source = Text(null=True, default=None)
    author = Text(null=True, default=None)
    metadata = JSONB(default={})
    created_at = created_at_column()
    updated_at = updated_at_column()
    deleted_at = deleted_at_column()

    version_is_positive = Check("version >= 1")
    name_not_blank = Check("btrim(name) <> ''")
    category_not_blank = Check("btrim(category) <> ''")


class KnowledgeDocumentVersion(Table, tablename="knowledge_document_versions"):
    """A previous version of a document, kept when its content changed."""

    id = id_column()
    document = ForeignKey(
        KnowledgeDocument,
        on_delete=OnDelete.cascade,
        null=False,
        index=True,
        db_column_name="document_id",
    )
    version = Integer(required=True, default=None)
    name = Text(required=True, default=None)
    content = Text(required=True, default=None)
    embedding_model = Text(null=True, default=None)
    author = Text(null=True, default=None)
    created_at = created_at_column()

    one_row_per_version = Unique(["document_id", "version"])
    version_is_positive = Check("version >= 1")
