"""Benchmark: every service workload against the floor (the same SQL on a bare connection).

    make bench     (or: .venv/bin/python -m bench.floor [--scale 1.0] [--rounds 5])

A throwaway embedded PostgreSQL is started in a temporary directory and migrated with the
real ``piccolo migrations forwards all``; the data is loaded with COPY (at scale 1: 100,000
clips, 200,000 conversions over 151 campaigns, 20,000 knowledge documents with 1536-dim
vectors drawn around 50 cluster centres; the HNSW index is built after the load).

``ours`` is the public service function on the project's engine (a pool of one
connection). ``floor`` is the same SQL (captured from one call of ours, or written out for
the ingestion) prepared once on one bare asyncpg connection: no pool, no reset, no
transaction it does not need. Both must return the same number of rows before timing.
Each workload runs ``--rounds`` alternating rounds of ``--calls`` calls per side (ours
first in even rounds); the figures are ops/s (median of rounds), p50 and p95 of single
calls, statements per call (counted on the wire side of asyncpg) and the ratio = ours
ops/s / floor ops/s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import start_embedded_server, stop_embedded_server  # noqa: E402
from tests.core.statements import count_statements  # noqa: E402

Call = Callable[[], Awaitable[Any]]


@dataclass
class Result:
    name: str
    ours_ops: float
    floor_ops: float
    ours_p50_us: float
    ours_p95_us: float
    floor_p50_us: float
    floor_p95_us: float
    statements: int
    # this process's CPU time per call (median of rounds): steadier than wall time on a busy
    # machine, and the part of the gap the Python side can still close
    ours_cpu_us: float = 0.0
    floor_cpu_us: float = 0.0

    @property
    def ratio(self) -> float:
        return self.ours_ops / self.floor_ops


def _prepare_server() -> tuple[Path, str]:
    work_dir = Path(tempfile.mkdtemp(prefix="gwfloor-"))
    url = start_embedded_server(work_dir / "pg", database="bench", cleanup="delete")
    env = {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test"}
    subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ["DATABASE_URL"] = url
    os.environ["GATEWAYDB_ENVIRONMENT"] = "test"
    return work_dir, url


async def _load(conn: asyncpg.Connection, scale: float) -> dict[str, Any]:
    """COPY the data set in; returns the keys the workloads use."""
    import numpy as np

    rng = np.random.default_rng(13)
    clips_n, conversions_n, docs_n = int(100_000 * scale), int(200_000 * scale), int(20_000 * scale)
    now = datetime.datetime.now(datetime.UTC)
    user_id, other_user = uuid.uuid4(), uuid.uuid4()
    await conn.copy_records_to_table(
        "users",
        records=[(user_id, "bench@example.com", "Bench"), (other_user, "o@example.com", "O")],
        columns=["id", "email", "name"],
    )
    assets = [uuid.uuid4() for _ in range(100)]
    await conn.copy_records_to_table(
        "assets",
        records=[
            (a, user_id, "a.mp4", "a.mp4", "video/mp4", 1000, f"gs://b/{a}.mp4", "b", f"{a}.mp4")
            for a in assets
        ],
        columns=[
            "id",
            "user_id",
            "filename",
            "original_name",
            "mime_type",
            "file_size",
            "gcs_url",
            "gcs_bucket",
            "gcs_path",
        ],
    )
    scores = rng.random(clips_n)
    clip_ids = [uuid.uuid4() for _ in range(clips_n)]
    await conn.copy_records_to_table(
        "clips",
        records=[
            (
                clip_ids[i],
                assets[i % 100],
                float(i // 100),
                float(i // 100 + 3),
                3.0,
                float(scores[i]),
                now - datetime.timedelta(seconds=clips_n - i),
            )
            for i in range(clips_n)
        ],
        columns=["id", "asset_id", "start_time", "end_time", "duration", "score", "created_at"],
    )
    rollup_campaigns = [uuid.uuid4() for _ in range(51)]
    ingest_campaigns = [uuid.uuid4() for _ in range(100)]
    await conn.copy_records_to_table(
        "campaigns",
        records=[(c, user_id, f"r{i}", Decimal(1000)) for i, c in enumerate(rollup_campaigns)]
        + [(c, other_user, f"i{i}", Decimal(1000)) for i, c in enumerate(ingest_campaigns)],
        columns=["id", "user_id", "name", "budget"],
    )
    every_campaign = rollup_campaigns + ingest_campaigns
    await conn.copy_records_to_table(
        "conversions",
        records=[
            (
                "META",
                f"load-{i}",
                Decimal("12.50"),
                every_campaign[i % len(every_campaign)],
                clip_ids[i % clips_n],
                now - datetime.timedelta(minutes=(i * 7) % (730 * 24 * 60)),
            )
            for i in range(conversions_n)
        ],
        columns=[
            "source",
            "external_id",
            "value",
            "campaign_id",
            "attributed_clip_id",
            "timestamp",
        ],
    )
    # Vectors around 50 cluster centres (random unit vectors have no neighbourhoods).
    index_sql = await conn.fetchval(
        "SELECT pg_get_indexdef('knowledge_documents_embedding_hnsw'::regclass)"
    )
    await conn.execute("DROP INDEX knowledge_documents_embedding_hnsw")
    centres = rng.normal(size=(50, 1536)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, docs_n)] + 0.3 * rng.normal(size=(docs_n, 1536)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    await conn.copy_records_to_table(
        "knowledge_documents",
        records=[
            (f"doc {i}", f"content {i}", "bench", vectors[i], "bench-model") for i in range(docs_n)
        ],
        columns=["name", "content", "category", "embedding", "embedding_model"],
    )
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(index_sql)
    await conn.execute("RESET maintenance_work_mem")
    await conn.execute("VACUUM ANALYZE")
    nested_asset = assets[0]
    query_vector = (centres[7] / np.linalg.norm(centres[7])).tolist()
    return {
        "user_id": user_id,
        "nested_asset": nested_asset,
        "clip_id": clip_ids[0],
        "ingest_campaigns": ingest_campaigns,
        "query_vector": query_vector,
    }


async def _timed(call: Call, calls: int) -> list[float]:
    latencies = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - start)
    return latencies


# Set by --profile: cProfile the "ours" calls of each workload and print the top functions.
PROFILE = False


async def _profile(name: str, ours: Call, calls: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await ours()
    profiler.disable()
    print(f"--- cProfile of {calls} calls of ours: {name} (by own time)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


async def _measure(name: str, ours: Call, floor: Call, rounds: int, calls: int) -> Result:
    if PROFILE:
        await _profile(name, ours, calls)
    for _ in range(3):
        await ours()
        await floor()
    with count_statements() as statements:
        await ours()
    ops: dict[str, list[float]] = {"ours": [], "floor": []}
    cpu: dict[str, list[float]] = {"ours": [], "floor": []}
    every: dict[str, list[float]] = {"ours": [], "floor": []}
    for round_number in range(rounds):
        order = [("ours", ours), ("floor", floor)]
        if round_number % 2:
            order.reverse()
        for side, call in order:
            started_cpu = time.process_time()
            latencies = await _timed(call, calls)
            cpu[side].append((time.process_time() - started_cpu) / calls * 1e6)
            ops[side].append(len(latencies) / sum(latencies))
            every[side] += latencies

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1e6

    result = Result(
        name,
        statistics.median(ops["ours"]),
        statistics.median(ops["floor"]),
        pct(every["ours"], 50),
        pct(every["ours"], 95),
        pct(every["floor"], 50),
        pct(every["floor"], 95),
        len(statements),
        statistics.median(cpu["ours"]),
        statistics.median(cpu["floor"]),
    )
    print(
        f"{name:<48} ours {result.ours_ops:8.0f} ops/s  floor {result.floor_ops:8.0f} ops/s  "
        f"p50 {result.ours_p50_us:7.0f}/{result.floor_p50_us:7.0f} us  "
        f"p95 {result.ours_p95_us:7.0f}/{result.floor_p95_us:7.0f} us  "
        f"cpu {result.ours_cpu_us:7.0f}/{result.floor_cpu_us:7.0f} us  "
        f"stmts {result.statements}  ratio {result.ratio:4.2f}",
        flush=True,
    )
    return result


async def _replay(bare: asyncpg.Connection, ours: Call) -> tuple[Call, Any]:
    """A floor call sending the statements ``ours`` sent, each prepared once on ``bare``."""
    with count_statements() as statements:
        result = await ours()
    prepared = [(await bare.prepare(sql), args) for sql, args in statements.executed]

    async def floor() -> Any:
        return [await statement.fetch(*args) for statement, args in prepared]

    return floor, result


def _rows(value: Any) -> int:
    from apps.core.pagination import Page

    if isinstance(value, Page):
        return len(value.items)
    return len(value) if isinstance(value, list) else 1


async def main(scale: float, rounds: int, calls: int, only: str = "") -> list[Result]:
    from pgvector.asyncpg import register_vector

    from apps.ads import selectors as ads_selectors
    from apps.ads import services as ads_services
    from apps.ads.records import ConversionInput
    from apps.ads.services import conversions as conversion_module
    from apps.ads.tables import ConversionSource
    from apps.knowledge import selectors as knowledge_selectors
    from apps.media import selectors as media_selectors
    from apps.media import services as media_services
    from apps.media.selectors import clips as clip_selectors
    from apps.users import selectors as user_selectors
    from piccolo_conf import DB

    dsn = parse_database_url(os.environ["DATABASE_URL"]).dsn
    bare = await asyncpg.connect(dsn)
    await register_vector(bare)
    started = time.perf_counter()
    keys = await _load(bare, scale)
    print(f"loaded with COPY in {time.perf_counter() - started:.1f} s (scale {scale:g})")
    settings = await bare.fetch(
        "SELECT name, setting FROM pg_settings WHERE name IN ('server_version', "
        "'synchronous_commit', 'fsync', 'shared_buffers', 'work_mem', 'jit') ORDER BY name"
    )
    print("server:", ", ".join(f"{row['name']}={row['setting']}" for row in settings))
    await DB.start_connection_pool(min_size=1, max_size=1)
    results: list[Result] = []

    def wanted(name: str) -> bool:
        return only.lower() in name.lower()

    async def compare(name: str, ours: Call) -> None:
        if not wanted(name):
            return
        floor, ours_result = await _replay(bare, ours)
        floor_result = await floor()
        # a page fetches one row more than it returns (to know whether a next page exists)
        assert 0 <= sum(len(rows) for rows in floor_result) - _rows(ours_result) <= 1 or name in (
            "asset + clips + predictions",
            "spend/revenue of a user's 51 campaigns (campaign_rollups)",
        ), name
        results.append(await _measure(name, ours, floor, rounds, calls))

    await compare(
        "user by email", lambda: user_selectors.user_get_by_email(email="bench@example.com")
    )
    await compare(
        "top 50 clips of a user (clip_list_top)",
        lambda: media_selectors.clip_list_top(user_id=keys["user_id"], limit=50),
    )
    await compare(
        "one prediction insert",
        lambda: media_services.prediction_record(
            clip_id=keys["clip_id"], model_version="v1", predicted_roas=2.0
        ),
    )
    await compare(
        "asset + clips + predictions",
        lambda: media_selectors.asset_get_with_clips(asset_id=keys["nested_asset"]),
    )
    await compare(
        "HNSW top-10 (document_search_vector)",
        lambda: knowledge_selectors.document_search_vector(
            embedding=keys["query_vector"], model="bench-model", k=10
        ),
    )
    await compare(
        "spend/revenue of a user's 51 campaigns (campaign_rollups)",
        lambda: ads_selectors.campaign_rollups(user_id=keys["user_id"]),
    )

    # Ingestion: 500 new conversions over 100 campaigns per call, then a replayed batch.
    counter = iter(range(10**9))
    campaigns = keys["ingest_campaigns"]

    def batch(prefix: str) -> list[ConversionInput]:
        n = next(counter)
        return [
            ConversionInput(
                external_id=f"{prefix}-{n}-{i}",
                value=Decimal("3.00"),
                campaign_id=campaigns[i % 100],
            )
            for i in range(500)
        ]

    insert_sql = await bare.prepare(conversion_module._CONVERSION_INSERT_ARRAYS)
    bump_sql = await bare.prepare(conversion_module._BUMP_CONVERSIONS)

    async def floor_ingest(items: list[ConversionInput]) -> None:
        from collections import Counter

        items = sorted(items, key=lambda c: c.external_id)
        async with bare.transaction():
            rows = await insert_sql.fetch(
                "META",
                [c.external_id for c in items],
                [c.value for c in items],
                [c.currency for c in items],
                [c.campaign_id for c in items],
                [None] * len(items),
                [None] * len(items),
                [None] * len(items),
                ["{}"] * len(items),
            )
            per = sorted(Counter(row["campaign_id"] for row in rows).items())
            if per:
                await bump_sql.fetch([k for k, _ in per], [v for _, v in per])

    async def ours_new() -> Any:
        return await ads_services.conversion_ingest_batch(
            source=ConversionSource.META, conversions=batch("o")
        )

    async def floor_new() -> Any:
        return await floor_ingest(batch("f"))

    if not wanted("500 new conversions over 100 campaigns") and not wanted("the same 500 again"):
        await DB.close_connection_pool()
        await bare.close()
        return results
    results.append(
        await _measure(
            "500 new conversions over 100 campaigns",
            ours_new,
            floor_new,
            rounds,
            max(2, calls // 5),
        )
    )
    fixed = batch("again")
    await ads_services.conversion_ingest_batch(source=ConversionSource.META, conversions=fixed)

    async def ours_again() -> Any:
        return await ads_services.conversion_ingest_batch(
            source=ConversionSource.META, conversions=fixed
        )

    async def floor_again() -> Any:
        return await floor_ingest(fixed)

    results.append(
        await _measure(
            "the same 500 again (all duplicates)", ours_again, floor_again, rounds, calls
        )
    )

    # Deep keyset pages of the clip stream: page 1 against page 1,000 (100 rows a page).
    stream = await bare.prepare(clip_selectors._CLIP_STREAM)
    deep_key = await bare.fetchrow(
        "SELECT created_at, id FROM clips ORDER BY created_at, id OFFSET $1 LIMIT 1",
        min(99_899, int(100_000 * scale) - 101),
    )
    assert deep_key is not None
    first_page: Call = lambda: stream.fetch(*media_selectors.STREAM_START, 100)  # noqa: E731
    deep_page: Call = lambda: stream.fetch(deep_key[0], deep_key[1], 100)  # noqa: E731
    flat = await _measure("clip stream: page 1,000 vs page 1", deep_page, first_page, rounds, calls)
    results.append(flat)
    await DB.close_connection_pool()
    await bare.close()
    return results


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the data set")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    parser.add_argument("--calls", type=int, default=200, help="calls per side per round")
    parser.add_argument("--only", default="", help="run the workloads whose name holds this")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile ours' calls first (top 20 by own time)"
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    work_dir, _ = _prepare_server()
    try:
        results = asyncio.run(main(args.scale, args.rounds, args.calls, args.only))
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)
    print()
    print(
        "| workload | ours ops/s | floor ops/s | ours p50/p95 (us) | floor p50/p95 (us) "
        "| client CPU per call, ours / floor (us) | statements per call | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.ours_ops:.0f} | {r.floor_ops:.0f} | {r.ours_p50_us:.0f} / "
            f"{r.ours_p95_us:.0f} | {r.floor_p50_us:.0f} / {r.floor_p95_us:.0f} "
            f"| {r.ours_cpu_us:.0f} / {r.floor_cpu_us:.0f} | {r.statements} | {r.ratio:.2f} |"
        )


if __name__ == "__main__":
    run()
