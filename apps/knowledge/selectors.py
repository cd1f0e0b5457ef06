"""Reads of the knowledge base: documents, their versions, and search.

Search comes in three kinds, each result carrying its score(s):

- :func:`document_search_vector`: the k nearest documents by cosine distance, through the
  HNSW index. ``ef_search`` (the size of the index's candidate list: higher is slower and
  finds more of the true neighbours) is set per query with ``SET LOCAL`` semantics
  (``set_config(..., true)``) inside the query's transaction, because the pool's reset wipes
  session settings. Filters (category, tags, not soft-deleted, same embedding model) are
  applied during the index scan with ``hnsw.iterative_scan = relaxed_order`` (pgvector 0.8):
  the scan goes on until k rows pass the filters instead of returning fewer.
- :func:`document_search_text`: PostgreSQL full-text search over the generated
  ``search_vector`` column (name weighted above content) with ``websearch_to_tsquery``
  syntax (``"exact phrase"``, ``or``, ``-excluded``), ranked by ``ts_rank_cd``, with
  highlighted snippets from ``ts_headline``.
- :func:`document_search_hybrid`: both, fused by weighted reciprocal rank fusion.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pgvector import Vector

from apps.core.db_errors import translate_errors
from apps.core.keyset import cursor_after
from apps.core.pagination import Page, encode_cursor, page_size
from apps.core.validation import validated
from apps.knowledge.embedders import Embedder, check_embedding, get_embedder
from apps.knowledge.errors import (
    DocumentNotFoundError,
    DocumentVersionNotFoundError,
    InvalidEmbeddingError,
    InvalidQueryError,
)
from apps.knowledge.tables import KnowledgeDocument

MAX_K = 1000
# pgvector's own default; the benchmark (docs/knowledge.md) shows what higher values buy.
DEFAULT_EF_SEARCH = 40
RRF_K = 60
SNIPPET_OPTIONS = "StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2"

DocumentState = Literal["live", "deleted", "all"]
TextMatch = Literal["all", "any"]

# "all": websearch_to_tsquery syntax, every word must match ("quoted phrase", or, -word).
# "any": the query's words as lexemes joined by OR, ranked by how many and how close
# (ts_rank_cd); the lexemes are already stemmed, so the 'simple' configuration keeps them.
_TSQUERY = {
    "all": "websearch_to_tsquery('english', {})",
    "any": "to_tsquery('simple', coalesce((SELECT string_agg(quote_literal(lexeme), ' | ') "
    "FROM unnest(tsvector_to_array(to_tsvector('english', {}))) AS lexeme), ''))",
}

_COLUMNS = (
    "d.id, d.name, d.description, d.content, d.category, d.tags, d.version, d.source, "
    "d.author, d.metadata, d.embedding_model, d.embedding IS NOT NULL AS has_embedding, "
    "d.created_at, d.updated_at, d.deleted_at"
)
_VERSION_COLUMNS = (
    "v.id, v.document_id, v.version, v.name, v.content, v.embedding_model, v.author, v.created_at"
)


@dataclass(frozen=True)
class Document:
    """A knowledge document as callers see it (its embedding is left out)."""

    id: uuid.UUID
    name: str
    description: str | None
    content: str
    category: str
    tags: list[str]
    version: int
    source: str | None
    author: str | None
    metadata: dict[str, Any]
    embedding_model: str
    has_embedding: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a document: a stored earlier one, or the current one (``id`` None)."""

    id: uuid.UUID | None
    document_id: uuid.UUID
    version: int
    name: str
    content: str
    embedding_model: str | None
    author: str | None
    created_at: datetime.datetime
    is_current: bool


@dataclass(frozen=True)
class SearchHit:
    """A search result: the document and how it scored.

    ``score`` orders the results (higher is better): cosine similarity (1 - distance) for a
    vector search, ``ts_rank_cd`` for a text search, the fused RRF score for a hybrid one.
    The other fields are filled where the search produced them; positions start at 1.
    """

    document: Document
    score: float
    distance: float | None = None
    text_rank: float | None = None
    vector_position: int | None = None
    text_position: int | None = None
    snippet: str | None = None


def _document(row: dict[str, Any]) -> Document:
    metadata = row["metadata"]
    return Document(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        content=row["content"],
        category=row["category"],
        tags=list(row["tags"] or []),
        version=row["version"],
        source=row["source"],
        author=row["author"],
        metadata=json.loads(metadata) if isinstance(metadata, str) else dict(metadata or {}),
        embedding_model=row["embedding_model"],
        has_embedding=row["has_embedding"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


def _version(row: dict[str, Any]) -> DocumentVersion:
    return DocumentVersion(
        id=row["id"],
        document_id=row["document_id"],
        version=row["version"],
        name=row["name"],
        content=row["content"],
        embedding_model=row["embedding_model"],
        author=row["author"],
        created_at=row["created_at"],
        is_current=False,
    )


def _current_version(document: Document) -> DocumentVersion:
    return DocumentVersion(
        id=None,
        document_id=document.id,
        version=document.version,
        name=document.name,
        content=document.content,
        embedding_model=document.embedding_model,
        author=document.author,
        created_at=document.updated_at,
        is_current=True,
    )


def _state_filter(state: DocumentState) -> str:
    return {
        "live": "d.deleted_at IS NULL",
        "deleted": "d.deleted_at IS NOT NULL",
        "all": "TRUE",
    }[state]


async def _fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    async with translate_errors():
        rows: list[dict[str, Any]] = await KnowledgeDocument.raw(sql, *args)
    return rows


# Documents ---------------------------------------------------------------------------------


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_get(*, document_id: uuid.UUID, include_deleted: bool = False) -> Document:
    """One document; DocumentNotFoundError when absent (or soft-deleted, unless included)."""
    state: DocumentState = "all" if include_deleted else "live"
    rows = await _fetch(
        f"SELECT {_COLUMNS} FROM knowledge_documents d "
        f"WHERE d.id = {{}} AND {_state_filter(state)}",
        document_id,
    )
    if not rows:
        raise DocumentNotFoundError(f"knowledge document {document_id} not found", field="id")
    return _document(rows[0])


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_embedding_get(*, document_id: uuid.UUID) -> list[float] | None:
    """The stored embedding of a document (None until embedded), deleted or not."""
    rows = await _fetch("SELECT embedding FROM knowledge_documents WHERE id = {}", document_id)
    if not rows:
        raise DocumentNotFoundError(f"knowledge document {document_id} not found", field="id")
    embedding: Vector | None = rows[0]["embedding"]
    return None if embedding is None else list(embedding.to_list())


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_list(
    *,
    category: str | None = None,
    tag: str | None = None,
    state: DocumentState = "live",
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Document]:
    """Documents, newest first, one keyset page at a time (``state`` picks live or deleted)."""
    size = page_size(limit)
    conditions = [_state_filter(state)]
    args: list[Any] = []
    if category is not None:
        conditions.append("d.category = {}")
        args.append(category)
    if tag is not None:
        conditions.append("d.tags @> ARRAY[{}]::text[]")
        args.append(tag)
    if cursor is not None:
        created_at, last_id = cursor_after(
            cursor, list_name="knowledge_documents", types=(datetime.datetime, uuid.UUID)
        )
        conditions.append("(d.created_at, d.id) < ({}, {})")
        args.extend([created_at, last_id])
    rows = await _fetch(
        f"SELECT {_COLUMNS} FROM knowledge_documents d WHERE {' AND '.join(conditions)} "
        f"ORDER BY d.created_at DESC, d.id DESC LIMIT {size + 1}",
        *args,
    )
    documents = [_document(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = documents[-1]
        next_cursor = encode_cursor(
            list_name="knowledge_documents", values=[last.created_at, last.id]
        )
    return Page(items=documents, next_cursor=next_cursor)


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_pending_embedding_count(*, model: str) -> int:
    """How many documents (deleted ones too) lack an embedding made by ``model``."""
    rows = await _fetch(
        "SELECT count(*) AS n FROM knowledge_documents "
        "WHERE embedding IS NULL OR embedding_model <> {}",
        model,
    )
    return int(rows[0]["n"])


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_pending_embedding_batch(
    *, model: str, after_id: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    """The next documents by id after ``after_id`` lacking a ``model`` embedding.

    Each item has ``id``, ``name``, ``content`` and ``updated_at`` (the reembed service uses
    it to skip rows changed meanwhile).
    """
    condition = "" if after_id is None else "AND id > {}"
    args: list[Any] = [model] if after_id is None else [model, after_id]
    return await _fetch(
        "SELECT id, name, content, updated_at FROM knowledge_documents "
        f"WHERE (embedding IS NULL OR embedding_model <> {{}}) {condition} "
        f"ORDER BY id LIMIT {int(limit)}",
        *args,
    )


# Versions ----------------------------------------------------------------------------------


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_version_list(
    *, document_id: uuid.UUID, include_deleted: bool = False
) -> list[DocumentVersion]:
    """Every version of a document, newest (the current one) first."""
    document = await document_get(document_id=document_id, include_deleted=include_deleted)
    rows = await _fetch(
        f"SELECT {_VERSION_COLUMNS} FROM knowledge_document_versions v "
        "WHERE v.document_id = {} ORDER BY v.version DESC",
        document_id,
    )
    return [_current_version(document), *(_version(row) for row in rows)]


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_version_get(
    *, document_id: uuid.UUID, version: int, include_deleted: bool = False
) -> DocumentVersion:
    """Version ``version`` of a document (the current one included)."""
    document = await document_get(document_id=document_id, include_deleted=include_deleted)
    if version == document.version:
        return _current_version(document)
    rows = await _fetch(
        f"SELECT {_VERSION_COLUMNS} FROM knowledge_document_versions v "
        "WHERE v.document_id = {} AND v.version = {}",
        document_id,
        version,
    )
    if not rows:
        raise DocumentVersionNotFoundError(
            f"knowledge document {document_id} has no version {version}", field="version"
        )
    return _version(rows[0])


# Search ------------------------------------------------------------------------------------


def _tsquery(match: TextMatch) -> str:
    if match not in _TSQUERY:
        raise InvalidQueryError("match must be 'all' or 'any'", field="match", rule="one_of")
    return _TSQUERY[match]


def _check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be between 1 and {MAX_K}", field="k", rule="range")
    return k


def _check_ef_search(ef_search: int | None) -> int:
    value = DEFAULT_EF_SEARCH if ef_search is None else ef_search
    if not 1 <= value <= 1000:
        raise InvalidQueryError(
            "ef_search must be between 1 and 1000", field="ef_search", rule="range"
        )
    return value


def _filters(*, category: str | None, tags: Sequence[str] | None, args: list[Any]) -> list[str]:
    """SQL conditions (and their arguments, appended to ``args``) shared by every search."""
    conditions = ["d.deleted_at IS NULL"]
    if category is not None:
        conditions.append("d.category = {}")
        args.append(category)
    if tags:
        conditions.append("d.tags @> {}::text[]")
        args.append(list(tags))
    return conditions


async def _query_vector(
    *,
    query: str | None,
    embedding: Sequence[float] | None,
    model: str | None,
    embedder: Embedder | None,
) -> tuple[Vector, str]:
    """The query's vector and the model whose document vectors it may be compared with."""
    if (query is None) == (embedding is None):
        raise InvalidQueryError(
            "give either a query text or an embedding", field="query", rule="one_of"
        )
    if embedding is not None:
        vector = check_embedding(embedding)
        return Vector(vector), model or (embedder or get_embedder()).model
    assert query is not None
    if not query.strip():
        raise InvalidQueryError("the query is empty", field="query", rule="required")
    embedder = embedder or get_embedder(model=model)
    return Vector(await embedder.embed_one(query)), embedder.model


def _vector_candidates_sql(conditions: list[str], limit: int) -> str:
    # One statement, no transaction of its own: the HNSW settings are set by set_config(...,
    # true) in a one-row subquery that the search is LATERAL to, so they are in force before
    # the index scan starts and end with the statement's implicit transaction (nothing is
    # left on the session; the pool needs no reset). ORDER BY the alias (computed once per
    # row) with a constant LIMIT: the shape the HNSW index serves. MATERIALIZED (in the
    # callers) keeps the planner from merging it into the outer query. Arguments: ef_search
    # (text), the query vector, the filters' arguments, the model.
    return (
        "SELECT n.id, n.distance FROM (SELECT set_config('hnsw.ef_search', {}, true) AS ef, "
        "set_config('hnsw.iterative_scan', 'relaxed_order', true) AS scan) s "
        "CROSS JOIN LATERAL (SELECT d.id, d.embedding <=> {} AS distance "
        f"FROM knowledge_documents d WHERE {' AND '.join(conditions)} "
        "AND d.embedding IS NOT NULL AND d.embedding_model = {} "
        "AND s.ef IS NOT NULL AND s.scan IS NOT NULL "
        f"ORDER BY distance LIMIT {limit}) n"
    )


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_search_vector(
    *,
    query: str | None = None,
    embedding: Sequence[float] | None = None,
    model: str | None = None,
    k: int = 10,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    ef_search: int | None = None,
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """The ``k`` live documents nearest to a query text (or a ready ``embedding``).

    Only documents embedded by the same model as the query are compared. ``tags`` keeps
    documents having all of them. ``score`` is the cosine similarity, ``distance`` the
    cosine distance (``1 - score``).
    """
    k = _check_k(k)
    ef = _check_ef_search(ef_search)
    vector, model_name = await _query_vector(
        query=query, embedding=embedding, model=model, embedder=embedder
    )
    args: list[Any] = [str(ef), vector]
    conditions = _filters(category=category, tags=tags, args=args)
    args.append(model_name)
    sql = (
        f"WITH nearest AS MATERIALIZED ({_vector_candidates_sql(conditions, k)}) "
        f"SELECT {_COLUMNS}, n.distance FROM nearest n JOIN knowledge_documents d ON d.id = n.id "
        "ORDER BY n.distance, d.id"
    )
    rows = await _fetch(sql, *args)
    return [
        SearchHit(
            document=_document(row),
            score=1.0 - row["distance"],
            distance=row["distance"],
            vector_position=position,
        )
        for position, row in enumerate(rows, start=1)
    ]


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_search_text(
    *,
    query: str,
    k: int = 10,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    match: TextMatch = "all",
) -> list[SearchHit]:
    """The ``k`` live documents best matching a web-search style query, with snippets.

    ``match="all"`` (the default) takes ``websearch_to_tsquery`` syntax: every word must
    match, ``"a phrase"``, ``or``, ``-excluded``. ``match="any"`` keeps the documents that
    match some of the words, best first (what a question in plain language needs).
    ``score`` is ``ts_rank_cd`` normalised to [0, 1) (rank / (rank + 1)); a match in the
    name counts more than one in the content. ``snippet`` marks matches with ``<mark>``.
    """
    k = _check_k(k)
    if not query.strip():
        raise InvalidQueryError("the query is empty", field="query", rule="required")
    args: list[Any] = [query]
    conditions = _filters(category=category, tags=tags, args=args)
    sql = (
        f"WITH q AS (SELECT {_tsquery(match)} AS query), "
        "matches AS MATERIALIZED ("
        "SELECT d.id, ts_rank_cd(d.search_vector, q.query, 32) AS text_rank "
        "FROM knowledge_documents d, q "
        f"WHERE d.search_vector @@ q.query AND {' AND '.join(conditions)} "
        f"ORDER BY text_rank DESC, d.id LIMIT {k}) "
        f"SELECT {_COLUMNS}, m.text_rank, "
        f"ts_headline('english', d.content, q.query, '{SNIPPET_OPTIONS}') AS snippet "
        "FROM matches m JOIN knowledge_documents d ON d.id = m.id, q "
        "ORDER BY m.text_rank DESC, d.id"
    )
    rows = await _fetch(sql, *args)
    return [
        SearchHit(
            document=_document(row),
            score=row["text_rank"],
            text_rank=row["text_rank"],
            text_position=position,
            snippet=row["snippet"],
        )
        for position, row in enumerate(rows, start=1)
    ]


@validated(error=InvalidQueryError, errors={"embedding": InvalidEmbeddingError})
async def document_search_hybrid(
    *,
    query: str,
    embedding: Sequence[float] | None = None,
    model: str | None = None,
    k: int = 10,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    vector_weight: float = 1.0,
    text_weight: float = 1.0,
    candidates: int | None = None,
    rrf_k: int = RRF_K,
    ef_search: int | None = None,
    text_match: TextMatch = "any",
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """Vector and full-text search fused by weighted reciprocal rank fusion.

    The text side matches any of the query's words by default (``text_match="any"``), as a
    question in plain language rarely has all its words in one document; ``"all"`` takes
    ``websearch_to_tsquery`` syntax as :func:`document_search_text` does.

    Each side ranks its best ``candidates`` (default ``max(4k, 40)``); a document's score
    is ``vector_weight / (rrf_k + vector_position) + text_weight / (rrf_k + text_position)``
    over the sides that found it. ``query`` is the text of both sides unless a ready
    ``embedding`` of it is given. Hits carry the fused score, the distance, the text rank,
    both positions and a snippet.
    """
    k = _check_k(k)
    ef = _check_ef_search(ef_search)
    pool = max(4 * k, 40) if candidates is None else candidates
    if not k <= pool <= MAX_K:
        raise InvalidQueryError(
            f"candidates must be between k and {MAX_K}", field="candidates", rule="range"
        )
    for field, weight in (("vector_weight", vector_weight), ("text_weight", text_weight)):
        if not 0.0 <= weight <= 100.0:
            raise InvalidQueryError(f"{field} must be between 0 and 100", field=field)
    if vector_weight == 0.0 and text_weight == 0.0:
        raise InvalidQueryError("one weight must be positive", field="vector_weight")
    if rrf_k < 1:
        raise InvalidQueryError("rrf_k must be at least 1", field="rrf_k", rule="min")
    if not query.strip():
        raise InvalidQueryError("the query is empty", field="query", rule="required")
    vector, model_name = await _query_vector(
        query=None if embedding is not None else query,
        embedding=embedding,
        model=model,
        embedder=embedder,
    )
    args: list[Any] = [str(ef), vector]
    vector_conditions = _filters(category=category, tags=tags, args=args)
    args += [model_name, query]
    text_conditions = _filters(category=category, tags=tags, args=args)
    args += [float(vector_weight), float(text_weight)]
    sql = (
        f"WITH vec AS MATERIALIZED ({_vector_candidates_sql(vector_conditions, pool)}), "
        "vec_ranked AS (SELECT id, distance, "
        "row_number() OVER (ORDER BY distance, id) AS position FROM vec), "
        f"q AS (SELECT {_tsquery(text_match)} AS query), "
        "txt AS MATERIALIZED (SELECT d.id, ts_rank_cd(d.search_vector, q.query, 32) AS text_rank "
        "FROM knowledge_documents d, q "
        f"WHERE d.search_vector @@ q.query AND {' AND '.join(text_conditions)} "
        f"ORDER BY text_rank DESC, d.id LIMIT {pool}), "
        "txt_ranked AS (SELECT id, text_rank, "
        "row_number() OVER (ORDER BY text_rank DESC, id) AS position FROM txt), "
        "fused AS MATERIALIZED (SELECT coalesce(v.id, t.id) AS id, v.distance, "
        "v.position AS vector_position, t.text_rank, t.position AS text_position, "
        f"coalesce({{}}::float8 / ({rrf_k} + v.position), 0) "
        f"+ coalesce({{}}::float8 / ({rrf_k} + t.position), 0) AS score "
        "FROM vec_ranked v FULL OUTER JOIN txt_ranked t ON t.id = v.id "
        f"ORDER BY score DESC, id LIMIT {k}) "
        f"SELECT {_COLUMNS}, f.distance, f.vector_position, f.text_rank, f.text_position, "
        f"f.score, ts_headline('english', d.content, q.query, '{SNIPPET_OPTIONS}') AS snippet "
        "FROM fused f JOIN knowledge_documents d ON d.id = f.id, q "
        "ORDER BY f.score DESC, d.id"
    )
    rows = await _fetch(sql, *args)
    return [
        SearchHit(
            document=_document(row),
            score=row["score"],
            distance=row["distance"],
            text_rank=row["text_rank"],
            vector_position=row["vector_position"],
            text_position=row["text_position"],
            snippet=row["snippet"],
        )
        for row in rows
    ]
