"""Reads of the knowledge base: documents, their versions, and search.

One module per concern (:mod:`.documents`, :mod:`.versions`, :mod:`.search`); their public
names are re-exported here, so ``from apps.knowledge import selectors`` gives them all.
"""

from __future__ import annotations

from apps.knowledge.records import Document, DocumentVersion, PendingEmbedding, SearchHit
from apps.knowledge.selectors.documents import (
    DOCUMENT_COLUMNS,
    LIVE_DOCUMENT,
    DocumentState,
    document_embedding_get,
    document_get,
    document_list,
    document_pending_embedding_batch,
    document_pending_embedding_count,
)
from apps.knowledge.selectors.search import (
    DEFAULT_EF_SEARCH,
    MAX_K,
    RRF_K,
    SNIPPET_OPTIONS,
    TextMatch,
    document_search_hybrid,
    document_search_text,
    document_search_vector,
)
from apps.knowledge.selectors.versions import document_version_get, document_version_list

__all__ = [
    "DEFAULT_EF_SEARCH",
    "DOCUMENT_COLUMNS",
    "LIVE_DOCUMENT",
    "MAX_K",
    "RRF_K",
    "SNIPPET_OPTIONS",
    "Document",
    "DocumentState",
    "DocumentVersion",
    "PendingEmbedding",
    "SearchHit",
    "TextMatch",
    "document_embedding_get",
    "document_get",
    "document_list",
    "document_pending_embedding_batch",
    "document_pending_embedding_count",
    "document_search_hybrid",
    "document_search_text",
    "document_search_vector",
    "document_version_get",
    "document_version_list",
]
