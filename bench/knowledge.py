"""Knowledge-base search benchmark: 20,000 documents x 1536 dimensions (``make bench-knowledge``).

On a scratch embedded PostgreSQL (deleted at the end, never the development data), migrated
with the real CLI:

1. synthetic documents with structure: points drawn around cluster centres in a
   64-dimension latent space, projected to 1536 dimensions by a fixed random matrix, plus a
   little isotropic noise (real embeddings have a low intrinsic dimension; random 1536-d
   vectors have no neighbourhoods and make recall meaningless). Each cluster has its own
   vocabulary, so full-text search has structure too. 5 % of the documents are soft-deleted.
2. loaded with COPY, then the HNSW index is (re)built and timed;
3. for top-10 vector search and for hybrid search at two ef_search values: p50/p95 latency
   of the project's selectors and of the same SQL on raw asyncpg (alternating, same
   queries), the ratio of their medians, and recall@10 against the exact answer (the same
   query with index scans disabled, i.e. a sequential scan computing every distance).

Usage: ``python bench/knowledge.py [--documents N] [--queries Q]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from pgvector import Vector

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import start_embedded_server, stop_embedded_server  # noqa: E402

DIMENSIONS = 1536
LATENT = 64
MODEL = "bench-synthetic-v1"
K = 10
EF_VALUES = (40, 100)
SETTINGS = (
    "server_version",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_parallel_maintenance_workers",
    "max_parallel_workers_per_gather",
    "effective_cache_size",
    "jit",
    "synchronous_commit",
)

VECTOR_SQL = """
WITH nearest AS MATERIALIZED (
  SELECT d.id, d.embedding <=> $1 AS distance FROM knowledge_documents d
  WHERE d.deleted_at IS NULL AND d.embedding IS NOT NULL AND d.embedding_model = $2
  ORDER BY d.embedding <=> $1 LIMIT 10)
SELECT d.id, d.name, d.content, n.distance FROM nearest n
JOIN knowledge_documents d ON d.id = n.id ORDER BY n.distance, d.id
"""

HYBRID_SQL = """
WITH vec AS MATERIALIZED (
  SELECT d.id, d.embedding <=> $1 AS distance FROM knowledge_documents d
  WHERE d.deleted_at IS NULL AND d.embedding IS NOT NULL AND d.embedding_model = $2
  ORDER BY d.embedding <=> $1 LIMIT 40),
vec_ranked AS (SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS position
  FROM vec),
q AS (SELECT to_tsquery('simple', coalesce((SELECT string_agg(quote_literal(lexeme), ' | ')
  FROM unnest(tsvector_to_array(to_tsvector('english', $3))) AS lexeme), '')) AS query),
txt AS MATERIALIZED (SELECT d.id, ts_rank_cd(d.search_vector, q.query, 32) AS text_rank
  FROM knowledge_documents d, q WHERE d.search_vector @@ q.query AND d.deleted_at IS NULL
  ORDER BY text_rank DESC, d.id LIMIT 40),
txt_ranked AS (SELECT id, text_rank, row_number() OVER (ORDER BY text_rank DESC, id) AS position
  FROM txt),
fused AS MATERIALIZED (SELECT coalesce(v.id, t.id) AS id, v.distance,
  coalesce(1.0::float8 / (60 + v.position), 0) + coalesce(1.0::float8 / (60 + t.position), 0)
  AS score FROM vec_ranked v FULL OUTER JOIN txt_ranked t ON t.id = v.id
  ORDER BY score DESC, id LIMIT 10)
SELECT d.id, d.name, f.score, ts_headline('english', d.content, q.query,
  'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2') AS snippet
FROM fused f JOIN knowledge_documents d ON d.id = f.id, q ORDER BY f.score DESC, d.id
"""


# The hybrid query whose text side needs every word (text_match="all").
HYBRID_ALL_SQL = HYBRID_SQL.replace(
    HYBRID_SQL[HYBRID_SQL.index("q AS (") : HYBRID_SQL.index("txt AS MATERIALIZED")],
    "q AS (SELECT websearch_to_tsquery('english', $3) AS query),\n",
)
assert HYBRID_ALL_SQL != HYBRID_SQL


# Data ------------------------------------------------------------------------------------


def pseudo_word(rng: np.random.Generator) -> str:
    syllables = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "pe", "zo", "gu", "fe"]
    return "".join(rng.choice(syllables, size=int(rng.integers(2, 5))))


class Corpus:
    """Clustered vectors and per-cluster vocabularies, reproducible from a seed."""

    def __init__(
        self, *, documents: int, clusters: int, spread: float = 1.0, seed: int = 7
    ) -> None:
        self.spread = spread
        self.rng = np.random.default_rng(seed)
        self.clusters = clusters
        self.centres = self.rng.normal(size=(clusters, LATENT))
        self.projection = self.rng.normal(size=(LATENT, DIMENSIONS)) / np.sqrt(LATENT)
        self.common = [pseudo_word(self.rng) for _ in range(400)]
        self.vocabulary = [[pseudo_word(self.rng) for _ in range(25)] for _ in range(clusters)]
        self.labels = self.rng.integers(0, clusters, size=documents)
        self.vectors = self.points(self.labels)

    def points(self, labels: np.ndarray) -> np.ndarray:
        latent = self.centres[labels] + self.spread * self.rng.normal(size=(len(labels), LATENT))
        vectors = latent @ self.projection
        vectors += 0.15 * self.rng.normal(size=vectors.shape)
        unit: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
            np.float32
        )
        return unit

    def text(self, cluster: int, words: int) -> str:
        own = self.rng.choice(self.vocabulary[cluster], size=words // 2)
        common = self.rng.choice(self.common, size=words - words // 2)
        mixed = [*own, *common]
        self.rng.shuffle(mixed)
        return " ".join(mixed)

    def queries(self, count: int) -> list[tuple[np.ndarray, str]]:
        labels = self.rng.integers(0, self.clusters, size=count)
        vectors = self.points(labels)
        return [
            (vector, " ".join(self.rng.choice(self.vocabulary[label], size=3, replace=False)))
            for vector, label in zip(vectors, labels, strict=True)
        ]


# Harness ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await call()
    return (time.perf_counter() - start) * 1000.0, result


async def raw_search(
    pool: asyncpg.Pool, sql: str, args: Sequence[Any], *, ef: int, exact: bool = False
) -> list[asyncpg.Record]:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "SELECT set_config('hnsw.ef_search', $1, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            str(ef),
        )
        if exact:
            await connection.execute("SET LOCAL enable_indexscan = off")
            # A statement text of its own: a cached generic plan ignores later GUC changes.
            sql = "/* exact */ " + sql
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows


def overlap(found: Sequence[uuid.UUID], truth: Sequence[uuid.UUID]) -> float:
    return len(set(found) & set(truth)) / max(1, len(truth))


async def compare(
    label: str,
    queries: list[tuple[Vector, str]],
    project: Callable[[Vector, str], Awaitable[list[uuid.UUID]]],
    raw: Callable[[Vector, str], Awaitable[list[uuid.UUID]]],
    truth: list[list[uuid.UUID]],
) -> dict[str, float]:
    # same answers first, then time both in alternating order
    for vector, text in queries[:20]:
        assert await project(vector, text) == await raw(vector, text), label
    project_times: list[float] = []
    raw_times: list[float] = []
    recalls: list[float] = []
    for index, (vector, text) in enumerate(queries):
        order = [(project, project_times), (raw, raw_times)]
        if index % 2:
            order.reverse()
        for function, times in order:
            elapsed, ids = await timed(lambda f=function, v=vector, t=text: f(v, t))  # type: ignore[misc]
            times.append(elapsed)
            if function is project:
                recalls.append(overlap(ids, truth[index]))
    result = {
        "p50": statistics.median(project_times),
        "p95": percentile(project_times, 0.95),
        "raw_p50": statistics.median(raw_times),
        "raw_p95": percentile(raw_times, 0.95),
        "recall": statistics.mean(recalls),
    }
    print(
        f"  {label:<22} recall@10 {result['recall']:.3f}   "
        f"p50 {result['p50']:6.2f} ms  p95 {result['p95']:6.2f} ms   "
        f"raw asyncpg p50 {result['raw_p50']:6.2f} ms  p95 {result['raw_p95']:6.2f} ms   "
        f"ratio {result['raw_p50'] / result['p50']:.2f}",
        flush=True,
    )
    return result


async def run(documents: int, query_count: int, url: str, spread: float) -> None:
    os.environ["DATABASE_URL"] = url
    from apps.core.engine import init_connection
    from apps.knowledge import selectors

    dsn = parse_database_url(url).dsn
    admin = await asyncpg.connect(dsn)
    await init_connection(admin)
    print("server settings:")
    for name in SETTINGS:
        print(f"  {name} = {await admin.fetchval(f'SHOW {name}')}")
    print(f"  cpu cores = {os.cpu_count()}")

    started = time.perf_counter()
    corpus = Corpus(documents=documents, clusters=max(10, documents // 100), spread=spread)
    print(
        f"{documents} documents in {corpus.clusters} clusters; latent dimension {LATENT}, "
        f"spread around the centres {spread} (centres ~ N(0, 1))"
    )
    deleted = corpus.rng.random(documents) < 0.05
    records = [
        (
            f"Document {i} {corpus.vocabulary[label][0]}",
            corpus.text(int(label), 60),
            f"cluster-{label % 20}",
            [f"c{label}"],
            Vector(corpus.vectors[i]),
            MODEL,
            None if not deleted[i] else time_now(),
        )
        for i, label in enumerate(corpus.labels)
    ]
    print(f"\ngenerated {documents} documents in {time.perf_counter() - started:.1f} s")

    await admin.execute("DROP INDEX knowledge_documents_embedding_hnsw")
    started = time.perf_counter()
    await admin.copy_records_to_table(
        "knowledge_documents",
        records=records,
        columns=[
            "name",
            "content",
            "category",
            "tags",
            "embedding",
            "embedding_model",
            "deleted_at",
        ],
    )
    print(f"COPY of {documents} rows: {time.perf_counter() - started:.1f} s")
    await admin.execute("SET maintenance_work_mem = '1GB'")
    started = time.perf_counter()
    await admin.execute(
        "CREATE INDEX knowledge_documents_embedding_hnsw ON knowledge_documents "
        "USING hnsw (embedding vector_cosine_ops)"
    )
    print(
        f"HNSW index build (m=16, ef_construction=64, maintenance_work_mem=1GB): "
        f"{time.perf_counter() - started:.1f} s"
    )
    await admin.execute("VACUUM ANALYZE knowledge_documents")

    queries = [(Vector(v), text) for v, text in corpus.queries(query_count)]
    plan = await admin.fetch("EXPLAIN " + VECTOR_SQL, queries[0][0], MODEL)
    print("\nplan of the vector query (default planner settings):")
    for row in plan:
        print("   ", row[0][:110])
    async with admin.transaction():
        await admin.execute("SET LOCAL enable_indexscan = off")
        plan = await admin.fetch("EXPLAIN " + VECTOR_SQL, queries[0][0], MODEL)
    print("plan of the exact query (index scans disabled):")
    for row in plan[:6]:
        print("   ", row[0][:110])

    from piccolo_conf import DB

    await DB.start_connection_pool(min_size=1, max_size=1)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, init=init_connection)
    assert pool is not None

    started = time.perf_counter()
    vector_truth = [
        [r["id"] for r in await raw_search(pool, VECTOR_SQL, [v, MODEL], ef=40, exact=True)]
        for v, _ in queries
    ]
    hybrid_truth = [
        [r["id"] for r in await raw_search(pool, HYBRID_SQL, [v, MODEL, t], ef=40, exact=True)]
        for v, t in queries
    ]
    hybrid_all_truth = [
        [r["id"] for r in await raw_search(pool, HYBRID_ALL_SQL, [v, MODEL, t], ef=40, exact=True)]
        for v, t in queries
    ]
    exact_ms = (time.perf_counter() - started) * 1000 / (3 * len(queries))
    print(f"\nexact answers (sequential scan): {exact_ms:.1f} ms per query on average")

    print(f"\n{len(queries)} queries, top-{K}; ratio = raw asyncpg p50 / project p50")
    print("hybrid: text side matches any word (default); hybrid/all: every word must match")
    for ef in EF_VALUES:

        async def project_vector(v: Vector, _: str, ef: int = ef) -> list[uuid.UUID]:
            hits = await selectors.document_search_vector(
                embedding=v.to_list(), model=MODEL, k=K, ef_search=ef
            )
            return [hit.document.id for hit in hits]

        async def raw_vector(v: Vector, _: str, ef: int = ef) -> list[uuid.UUID]:
            return [r["id"] for r in await raw_search(pool, VECTOR_SQL, [v, MODEL], ef=ef)]

        async def project_hybrid(v: Vector, text: str, ef: int = ef) -> list[uuid.UUID]:
            hits = await selectors.document_search_hybrid(
                query=text, embedding=v.to_list(), model=MODEL, k=K, ef_search=ef
            )
            return [hit.document.id for hit in hits]

        async def raw_hybrid(v: Vector, text: str, ef: int = ef) -> list[uuid.UUID]:
            return [r["id"] for r in await raw_search(pool, HYBRID_SQL, [v, MODEL, text], ef=ef)]

        async def project_hybrid_all(v: Vector, text: str, ef: int = ef) -> list[uuid.UUID]:
            hits = await selectors.document_search_hybrid(
                query=text,
                embedding=v.to_list(),
                model=MODEL,
                k=K,
                ef_search=ef,
                text_match="all",
            )
            return [hit.document.id for hit in hits]

        async def raw_hybrid_all(v: Vector, text: str, ef: int = ef) -> list[uuid.UUID]:
            rows = await raw_search(pool, HYBRID_ALL_SQL, [v, MODEL, text], ef=ef)
            return [r["id"] for r in rows]

        for warm in queries[:10]:
            await project_vector(*warm)
            await raw_vector(*warm)
        await compare(f"vector ef_search={ef}", queries, project_vector, raw_vector, vector_truth)
        await compare(f"hybrid ef_search={ef}", queries, project_hybrid, raw_hybrid, hybrid_truth)
        await compare(
            f"hybrid/all ef_search={ef}",
            queries,
            project_hybrid_all,
            raw_hybrid_all,
            hybrid_all_truth,
        )

    async with admin.transaction():
        await admin.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        plan = await admin.fetch(
            "EXPLAIN (ANALYZE, COSTS off, BUFFERS off) " + HYBRID_SQL,
            queries[1][0],
            MODEL,
            queries[1][1],
        )
    print("\nEXPLAIN ANALYZE of one hybrid query (ef_search 40):")
    for row in plan:
        if "Order By:" not in row[0]:
            print("   ", row[0][:110])

    await pool.close()
    await DB.close_connection_pool()
    await admin.close()


def time_now() -> Any:
    import datetime

    return datetime.datetime.now(tz=datetime.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--spread", type=float, default=1.0, help="noise around the centres (higher: harder)"
    )
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gwkb-"))
    data_dir = work / "pg"
    url = start_embedded_server(data_dir, database="bench_knowledge", cleanup="delete")
    try:
        env = {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test"}
        subprocess.run(
            [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"scratch server in {data_dir}, database migrated with the real CLI\n")
        asyncio.run(run(options.documents, options.queries, url, options.spread))
    finally:
        stop_embedded_server(data_dir)
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
