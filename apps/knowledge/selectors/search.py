"""Search of the knowledge base, each hit carrying its score(s).

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

Every statement is built once per combination of filters at import time; the values (k,
ef_search, the weights) are arguments. A hit is a :class:`apps.knowledge.records.SearchHit`
row whose scores and positions the statement computes, so no Python runs per hit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from apps.core import rawsql
from apps.core.replicas import lag_tolerant
from apps.core.validation import validated
from apps.knowledge.embedders import Embedder, check_embedding, get_embedder
from apps.knowledge.errors import InvalidEmbeddingError, InvalidQueryError
from apps.knowledge.records import SearchHit
from apps.knowledge.selectors.documents import DOCUMENT_COLUMNS, LIVE_DOCUMENT
from apps.knowledge.tables import KnowledgeDocument

MAX_K = 1000
# pgvector's own default; the benchmark (docs/knowledge.md) shows what higher values buy.
DEFAULT_EF_SEARCH = 40
RRF_K = 60
SNIPPET_OPTIONS = "StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2"

TextMatch = Literal["all", "any"]
TEXT_MATCHES: tuple[TextMatch, ...] = ("all", "any")


class _Placeholders:
    """``$n`` placeholders by argument name, numbered in order of first use."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}"


_Variant = tuple[str, tuple[str, ...]]  # the statement, and its arguments' names in order


def _variant(build: Callable[..., str], **flags: Any) -> _Variant:
    p = _Placeholders()
    return rawsql.statement(build(p, **flags), owner=__name__), tuple(p.names)


def _args(variant: _Variant, values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in variant[1]]


def _tsquery(match: str, query: str) -> str:
    # "all": websearch_to_tsquery syntax, every word must match ("quoted phrase", or, -word).
    # "any": the query's words as lexemes joined by OR, ranked by how many and how close
    # (ts_rank_cd); the lexemes are already stemmed, so the 'simple' configuration keeps them.
    if match == "all":
        return f"websearch_to_tsquery('english', {query})"
    return (
        "to_tsquery('simple', coalesce((SELECT string_agg(quote_literal(lexeme), ' | ') "
        f"FROM unnest(tsvector_to_array(to_tsvector('english', {query}))) AS lexeme), ''))"
    )


def _filters(p: _Placeholders, *, category: bool, tags: bool) -> str:
    """The conditions every search applies: live, and the optional category and tags."""
    conditions = [LIVE_DOCUMENT]
    if category:
        conditions.append(f"d.category = {p('category')}")
    if tags:
        conditions.append(f"d.tags @> {p('tags')}::text[]")
    return " AND ".join(conditions)


def _vector_candidates(p: _Placeholders, *, category: bool, tags: bool, limit: str) -> str:
    # One statement, no transaction of its own: the HNSW settings are set by set_config(...,
    # true) in a one-row subquery that the search is LATERAL to, so they are in force before
    # the index scan starts and end with the statement's implicit transaction (nothing is
    # left on the session; the pool needs no reset). ORDER BY the alias (computed once per
    # row) with a LIMIT: the shape the HNSW index serves. MATERIALIZED (in the callers)
    # keeps the planner from merging it into the outer query.
    return (
        f"SELECT n.id, n.distance FROM (SELECT set_config('hnsw.ef_search', {p('ef')}, true) "
        "AS ef, set_config('hnsw.iterative_scan', 'relaxed_order', true) AS scan) s "
        f"CROSS JOIN LATERAL (SELECT d.id, d.embedding <=> {p('vector')} AS distance "
        f"FROM knowledge_documents d WHERE {_filters(p, category=category, tags=tags)} "
        f"AND d.embedding IS NOT NULL AND d.embedding_model = {p('model')} "
        "AND s.ef IS NOT NULL AND s.scan IS NOT NULL "
        f"ORDER BY distance LIMIT {p(limit)}) n"
    )


def _vector_sql(p: _Placeholders, *, category: bool, tags: bool) -> str:
    return (
        f"WITH nearest AS MATERIALIZED "
        f"({_vector_candidates(p, category=category, tags=tags, limit='k')}) "
        f"SELECT {DOCUMENT_COLUMNS}, 1 - n.distance AS score, n.distance, "
        "NULL::float8 AS text_rank, "
        "row_number() OVER (ORDER BY n.distance, d.id)::int AS vector_position, "
        "NULL::int AS text_position, NULL::text AS snippet "
        "FROM nearest n JOIN knowledge_documents d ON d.id = n.id ORDER BY n.distance, d.id"
    )


def _text_matches(p: _Placeholders, *, category: bool, tags: bool, limit: str) -> str:
    return (
        "SELECT d.id, ts_rank_cd(d.search_vector, q.query, 32) AS text_rank "
        "FROM knowledge_documents d, q WHERE d.search_vector @@ q.query "
        f"AND {_filters(p, category=category, tags=tags)} "
        f"ORDER BY text_rank DESC, d.id LIMIT {p(limit)}"
    )


def _text_sql(p: _Placeholders, *, match: str, category: bool, tags: bool) -> str:
    return (
        f"WITH q AS (SELECT {_tsquery(match, p('query'))} AS query), "
        f"matches AS MATERIALIZED ({_text_matches(p, category=category, tags=tags, limit='k')}) "
        f"SELECT {DOCUMENT_COLUMNS}, m.text_rank AS score, NULL::float8 AS distance, "
        "m.text_rank, NULL::int AS vector_position, "
        "row_number() OVER (ORDER BY m.text_rank DESC, d.id)::int AS text_position, "
        f"ts_headline('english', d.content, q.query, '{SNIPPET_OPTIONS}') AS snippet "
        "FROM matches m JOIN knowledge_documents d ON d.id = m.id, q "
        "ORDER BY m.text_rank DESC, d.id"
    )


def _hybrid_sql(p: _Placeholders, *, match: str, category: bool, tags: bool) -> str:
    vector = _vector_candidates(p, category=category, tags=tags, limit="pool")
    return (
        f"WITH vec AS MATERIALIZED ({vector}), "
        "vec_ranked AS (SELECT id, distance, "
        "row_number() OVER (ORDER BY distance, id) AS position FROM vec), "
        f"q AS (SELECT {_tsquery(match, p('query'))} AS query), "
        f"txt AS MATERIALIZED ({_text_matches(p, category=category, tags=tags, limit='pool')}), "
        "txt_ranked AS (SELECT id, text_rank, "
        "row_number() OVER (ORDER BY text_rank DESC, id) AS position FROM txt), "
        "fused AS MATERIALIZED (SELECT coalesce(v.id, t.id) AS id, v.distance, "
        "v.position::int AS vector_position, t.text_rank, t.position::int AS text_position, "
        f"coalesce({p('vector_weight')}::float8 / ({p('rrf_k')}::float8 + v.position), 0) "
        f"+ coalesce({p('text_weight')}::float8 / ({p('rrf_k')}::float8 + t.position), 0) "
        "AS score FROM vec_ranked v FULL OUTER JOIN txt_ranked t ON t.id = v.id "
        f"ORDER BY score DESC, id LIMIT {p('k')}) "
        f"SELECT {DOCUMENT_COLUMNS}, f.score, f.distance, f.text_rank, f.vector_position, "
        "f.text_position, "
        f"ts_headline('english', d.content, q.query, '{SNIPPET_OPTIONS}') AS snippet "
        "FROM fused f JOIN knowledge_documents d ON d.id = f.id, q "
        "ORDER BY f.score DESC, d.id"
    )


_BOTH = (False, True)
_VECTOR_SQL = {
    (category, tags): _variant(_vector_sql, category=category, tags=tags)
    for category in _BOTH
    for tags in _BOTH
}
_TEXT_SQL = {
    (match, category, tags): _variant(_text_sql, match=match, category=category, tags=tags)
    for match in TEXT_MATCHES
    for category in _BOTH
    for tags in _BOTH
}
_HYBRID_SQL = {
    (match, category, tags): _variant(_hybrid_sql, match=match, category=category, tags=tags)
    for match in TEXT_MATCHES
    for category in _BOTH
    for tags in _BOTH
}


def _check_match(match: str, *, field: str) -> str:
    if match not in TEXT_MATCHES:
        raise InvalidQueryError(f"{field} must be 'all' or 'any'", field=field, rule="one_of")
    return match


def _check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be between 1 and {MAX_K}", field="k", rule="range")
    return k


def _check_ef_search(ef_search: int | None) -> str:
    value = DEFAULT_EF_SEARCH if ef_search is None else ef_search
    if not 1 <= value <= 1000:
        raise InvalidQueryError(
            "ef_search must be between 1 and 1000", field="ef_search", rule="range"
        )
    return str(value)  # set_config takes text


def _check_query(query: str) -> None:
    if not query.strip():
        raise InvalidQueryError("the query is empty", field="query", rule="not_blank")


async def _query_vector(
    *,
    query: str | None,
    embedding: Sequence[float] | None,
    model: str | None,
    embedder: Embedder | None,
) -> tuple[list[float], str]:
    """The query's vector (a list of floats) and the model whose document vectors it may be
    compared with."""
    if (query is None) == (embedding is None):
        raise InvalidQueryError(
            "give either a query text or an embedding", field="query", rule="exactly_one"
        )
    if embedding is not None:
        # @validated checked the items (finite numbers, one pass); the length and the zero
        # vector are left. The list itself is the argument: the connections' vector codec
        # (apps/core/vectors.py) packs it straight into the wire format.
        vector = check_embedding(embedding, items_checked=True)
        return vector, model or (embedder or get_embedder()).model
    assert query is not None
    _check_query(query)
    embedder = embedder or get_embedder(model=model)
    return await embedder.embed_one(query), embedder.model


def _filter_values(category: str | None, tags: Sequence[str] | None) -> dict[str, Any]:
    return {"category": category, "tags": list(tags) if tags else None}


async def _hits(variant: _Variant, values: dict[str, Any]) -> list[SearchHit]:
    return await rawsql.fetch(
        rawsql.engine_of(KnowledgeDocument),
        variant[0],
        *_args(variant, values),
        record_class=SearchHit,
    )


@lag_tolerant
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
    values = {"ef": ef, "vector": vector, "model": model_name, "k": k}
    values.update(_filter_values(category, tags))
    return await _hits(_VECTOR_SQL[(category is not None, bool(tags))], values)


@lag_tolerant
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
    _check_match(match, field="match")
    _check_query(query)
    values: dict[str, Any] = {"query": query, "k": k, **_filter_values(category, tags)}
    return await _hits(_TEXT_SQL[(match, category is not None, bool(tags))], values)


def _check_weights(vector_weight: float, text_weight: float) -> None:
    for field, weight in (("vector_weight", vector_weight), ("text_weight", text_weight)):
        if not 0.0 <= weight <= 100.0:
            raise InvalidQueryError(f"{field} must be between 0 and 100", field=field, rule="range")
    if vector_weight == 0.0 and text_weight == 0.0:
        raise InvalidQueryError(
            "one of vector_weight and text_weight must be positive",
            field="vector_weight",
            rule="at_least_one",
        )


@lag_tolerant
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
    _check_weights(vector_weight, text_weight)
    if rrf_k < 1:
        raise InvalidQueryError("rrf_k must be at least 1", field="rrf_k", rule="min")
    _check_match(text_match, field="text_match")
    _check_query(query)
    vector, model_name = await _query_vector(
        query=None if embedding is not None else query,
        embedding=embedding,
        model=model,
        embedder=embedder,
    )
    values: dict[str, Any] = {
        "ef": ef,
        "vector": vector,
        "model": model_name,
        "pool": pool,
        "query": query,
        "vector_weight": float(vector_weight),
        "text_weight": float(text_weight),
        "rrf_k": rrf_k,
        "k": k,
        **_filter_values(category, tags),
    }
    return await _hits(_HYBRID_SQL[(text_match, category is not None, bool(tags))], values)
