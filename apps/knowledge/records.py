"""Rows of the knowledge base, as :class:`apps.core.records.Row` subclasses.

asyncpg builds them in C while it decodes the result (``record_class=``): no Python runs per
row. Each attribute reads the column of its own name, so every SELECT names its columns alike.
"""

from __future__ import annotations

import datetime
import uuid

from apps.core.records import Column, JsonColumn, Row


class Document(Row):
    """A knowledge document as callers see it (its embedding is left out)."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    name = Column[str]()
    description = Column[str | None]()
    content = Column[str]()
    embedding_model = Column[str]()
    category = Column[str]()
    tags = Column[list[str]]()
    version = Column[int]()
    source = Column[str | None]()
    author = Column[str | None]()
    metadata = JsonColumn()
    created_at = Column[datetime.datetime]()
    updated_at = Column[datetime.datetime]()
    deleted_at = Column[datetime.datetime | None]()
    has_embedding = Column[bool]()


class DocumentVersion(Row):
    """One version of a document: a stored earlier one, or the current one (``id`` None)."""

    __slots__ = ()

    id = Column[uuid.UUID | None]()
    document_id = Column[uuid.UUID]()
    version = Column[int]()
    name = Column[str]()
    content = Column[str]()
    embedding_model = Column[str | None]()
    author = Column[str | None]()
    created_at = Column[datetime.datetime]()
    is_current = Column[bool]()


class SearchHit(Document):
    """A search result: the document's columns and how it scored.

    ``score`` orders the results (higher is better): cosine similarity (1 - distance) for a
    vector search, ``ts_rank_cd`` (normalised) for a text search, the fused RRF score for a
    hybrid one. The other scores are None where the search did not produce them; positions
    start at 1. ``hit.document`` is the hit itself, read as a :class:`Document`.
    """

    __slots__ = ()

    score = Column[float]()
    distance = Column[float | None]()
    text_rank = Column[float | None]()
    vector_position = Column[int | None]()
    text_position = Column[int | None]()
    snippet = Column[str | None]()

    @property
    def document(self) -> Document:
        """The document that was found (the same row: its document columns)."""
        return self


class PendingEmbedding(Row):
    """A document waiting for an embedding by another model (what ``reembed`` reads)."""

    __slots__ = ()

    id = Column[uuid.UUID]()
    name = Column[str]()
    content = Column[str]()
    updated_at = Column[datetime.datetime]()


class DocumentHead(Row):
    """What a write locks and archives of a document (any subset of these columns)."""

    __slots__ = ()

    COLUMNS = ("id", "name", "content", "version", "embedding_model", "author")

    id = Column[uuid.UUID]()
    name = Column[str]()
    content = Column[str]()
    version = Column[int]()
    embedding_model = Column[str]()
    author = Column[str | None]()
