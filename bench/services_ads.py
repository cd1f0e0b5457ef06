"""Benchmark: the ads services and selectors against the same SQL run directly on asyncpg.

Run with ``make bench-ads`` (or ``python -m bench.services_ads``). It starts a throwaway
embedded PostgreSQL (or uses ``--url``, which must point at an empty database), migrates it
with the real CLI, seeds it, checks that both variants return the same results, then times
each operation in alternating order and prints medians, p95 and the ratios. Both variants
borrow a connection from a pool of their own for each operation (acquire, run, release),
one operation at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
Op = Callable[[], Awaitable[Any]]


def _prepare(url: str | None) -> tuple[str, Path | None]:
    """A migrated database URL (and the temp dir of the embedded server, if we made one)."""
    work_dir: Path | None = None
    if url is None:
        from apps.core.embedded import start_embedded_server

        work_dir = Path(tempfile.mkdtemp(prefix="gwbench-"))
        url = start_embedded_server(work_dir / "pg", database="bench_ads", cleanup="delete")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url, work_dir


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _time(
    name: str, ours: Op, raw: Op, *, repetitions: int, per_round: int
) -> dict[str, Any]:
    """Median and p95 per operation of each variant, alternating which goes first."""
    for _ in range(3):  # warm up: prepared statements, pool connections
        await ours()
        await raw()
    samples: dict[str, list[float]] = {"ours": [], "raw": []}
    for repetition in range(repetitions):
        order = [("ours", ours), ("raw", raw)]
        if repetition % 2:
            order.reverse()
        for label, op in order:
            for _ in range(per_round):
                started = time.perf_counter()
                await op()
                samples[label].append(time.perf_counter() - started)
    ours_median = statistics.median(samples["ours"])
    raw_median = statistics.median(samples["raw"])
    return {
        "name": name,
        "ours_ms": ours_median * 1000,
        "raw_ms": raw_median * 1000,
        "ours_p95_ms": _percentile(samples["ours"], 0.95) * 1000,
        "raw_p95_ms": _percentile(samples["raw"], 0.95) * 1000,
        "time_ratio": ours_median / raw_median,
    }


async def run(url: str, *, repetitions: int, per_round: int) -> list[dict[str, Any]]:
    os.environ["DATABASE_URL"] = url
    from apps.ads import selectors, services
    from apps.ads.records import ConversionInput
    from apps.ads.selectors import CAMPAIGN_ROLLUP_SQL
    from apps.ads.services.campaigns import _CAMPAIGN_INSERT
    from apps.ads.services.conversions import (
        _BUMP_CONVERSIONS,
        _CONVERSION_INSERT_ARRAYS,
    )
    from apps.ads.tables import ConversionSource
    from apps.core.dburl import parse_database_url
    from apps.media.tables import Asset, Clip
    from apps.users.tables import User
    from piccolo_conf import DB

    await DB.start_connection_pool()
    raw_pool = await asyncpg.create_pool(parse_database_url(url).dsn, min_size=1, max_size=10)
    assert raw_pool is not None
    try:
        settings = await raw_pool.fetch(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', "
            "'max_connections') ORDER BY name"
        )
        print("server:", ", ".join(f"{r['name']}={r['setting']}" for r in settings))

        # --- seed: one user with 5,000 campaigns; one campaign with 2,000 conversions over
        # 60 days on 6 clips of 3 assets, and 60 days x 2 platforms of metrics per asset.
        user_rows = await User.insert(User(email="bench@example.com", name="Bench")).returning(
            User.id
        )
        user_id = user_rows[0]["id"]
        base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        async with raw_pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO campaigns (user_id, name, budget, created_at) "
                "SELECT $1, 'seed ' || g, 100, $2::timestamptz + g * interval '1 minute' "
                "FROM generate_series(1, 5000) g",
                user_id,
                base,
            )
        campaign = await services.campaign_create(
            user_id=user_id, name="Rollup", budget=Decimal("10000.00")
        )
        # the ingestion benchmark writes to a campaign of its own, so the rollup's data
        # stays the same from the first repetition to the last
        sink = await services.campaign_create(
            user_id=user_id, name="Ingest", budget=Decimal("10000.00")
        )
        clips = []
        for a in range(3):
            path = f"bench/{a}.mp4"
            asset_rows = await Asset.insert(
                Asset(
                    user=user_id,
                    filename="a.mp4",
                    original_name="a.mp4",
                    mime_type="video/mp4",
                    file_size=1,
                    gcs_url=f"gs://bench/{path}",
                    gcs_bucket="bench",
                    gcs_path=path,
                )
            ).returning(Asset.id)
            asset_id = asset_rows[0]["id"]
            for c in range(2):
                clip_rows = await Clip.insert(
                    Clip(asset=asset_id, start_time=c, end_time=c + 1, duration=1)
                ).returning(Clip.id)
                clips.append(clip_rows[0]["id"])
            for day in range(60):
                for platform in ("meta", "google"):
                    await services.performance_metric_upsert(
                        asset_id=asset_id,
                        date=base.date() + datetime.timedelta(days=day),
                        platform=platform,
                        impressions=10_000 + day,
                        clicks=300 + day,
                        spend=Decimal("150.00"),
                        revenue=Decimal("420.00"),
                    )
        await services.conversion_ingest_batch(
            source=ConversionSource.META,
            conversions=[
                ConversionInput(
                    external_id=f"seed-{i}",
                    value=Decimal("12.50"),
                    campaign_id=campaign.id,
                    attributed_clip_id=clips[i % len(clips)],
                    timestamp=base + datetime.timedelta(minutes=43 * i),
                )
                for i in range(2000)
            ],
        )
        async with raw_pool.acquire() as conn:
            await conn.execute("ANALYZE")

        # --- 1. single-row insert
        def insert_args() -> tuple[Any, ...]:
            return (
                user_id, "Bench insert", None, "CONVERSIONS", Decimal("100.00"), None, "USD",
                None, None, None, "{}", "[]", "{}", None, None, "{}", None,
            )  # fmt: skip

        async def insert_ours() -> Any:
            return await services.campaign_create(
                user_id=user_id, name="Bench insert", budget=Decimal("100.00")
            )

        async def insert_raw() -> Any:
            async with raw_pool.acquire() as conn:
                return await conn.fetchrow(_CAMPAIGN_INSERT, *insert_args())

        ours_row, raw_row = await insert_ours(), await insert_raw()
        assert (ours_row.name, ours_row.budget, ours_row.status) == (
            raw_row["name"],
            raw_row["budget"],
            raw_row["status"],
        )

        # --- 2. insert 500 conversions idempotently (new external ids every time)
        counter = iter(range(10**9))

        def batch() -> list[ConversionInput]:
            n = next(counter)
            return [
                ConversionInput(
                    external_id=f"b{n}-{i:03d}",
                    value=Decimal("3.10"),
                    campaign_id=sink.id,
                    attributed_clip_id=clips[i % len(clips)],
                )
                for i in range(500)
            ]

        async def ingest_ours() -> Any:
            return await services.conversion_ingest_batch(
                source=ConversionSource.META, conversions=batch()
            )

        async def ingest_raw() -> Any:
            items = sorted(batch(), key=lambda c: c.external_id)
            async with raw_pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    _CONVERSION_INSERT_ARRAYS,
                    "META",
                    [c.external_id for c in items],
                    [c.value for c in items],
                    [c.currency for c in items],
                    [c.campaign_id for c in items],
                    [c.attributed_clip_id for c in items],
                    [c.attributed_ad_id for c in items],
                    [c.timestamp for c in items],
                    ["{}" for c in items],
                )
                await conn.execute(_BUMP_CONVERSIONS, [sink.id], [len(rows)])
                return rows

        assert (await ingest_ours()).inserted == 500
        assert len(await ingest_raw()) == 500

        # --- 3. campaign rollup (the rollup covers the seeded 60 days)
        async def rollup_ours() -> Any:
            return await selectors.campaign_rollup(
                campaign_id=campaign.id,
                date_from=base.date(),
                date_to=base.date() + datetime.timedelta(days=59),
            )

        async def rollup_raw() -> Any:
            async with raw_pool.acquire() as conn:
                return await conn.fetch(
                    CAMPAIGN_ROLLUP_SQL,
                    campaign.id,
                    base.date(),
                    base.date() + datetime.timedelta(days=59),
                )

        ours_rollup, raw_rollup = await rollup_ours(), await rollup_raw()
        assert [d.revenue for d in ours_rollup.days] == [r["revenue"] for r in raw_rollup[:-1]]
        assert ours_rollup.total.spend == raw_rollup[-1]["spend"]
        assert len(ours_rollup.days) == 60

        # --- 4. a page of 50 campaigns: the first page and a deep one (page 60)
        deep = await selectors.campaign_list(user_id=user_id, limit=50)
        for _ in range(59):
            assert deep.next_cursor is not None
            deep = await selectors.campaign_list(user_id=user_id, limit=50, cursor=deep.next_cursor)
        deep_cursor = deep.next_cursor
        assert deep_cursor is not None
        from apps.ads.selectors import CAMPAIGN_SUMMARY_COLUMNS, LIVE_CAMPAIGN
        from apps.core.pagination import decode_cursor

        deep_key = decode_cursor(deep_cursor, list_name=f"campaigns:{user_id}:None")
        page_sql = (
            f"SELECT {CAMPAIGN_SUMMARY_COLUMNS} FROM campaigns c "
            f"WHERE {LIVE_CAMPAIGN} AND c.user_id = $1 AND (c.created_at, c.id) < ($2, $3) "
            "ORDER BY c.created_at DESC, c.id DESC LIMIT $4"
        )

        async def page_ours() -> Any:
            return await selectors.campaign_list(user_id=user_id, limit=50, cursor=deep_cursor)

        async def page_raw() -> Any:
            async with raw_pool.acquire() as conn:
                return await conn.fetch(page_sql, user_id, *deep_key, 51)

        ours_page, raw_page = await page_ours(), await page_raw()
        assert [c.id for c in ours_page.items] == [r["id"] for r in raw_page[:50]]

        first_sql = page_sql.replace(" AND (c.created_at, c.id) < ($2, $3)", "").replace("$4", "$2")

        async def first_ours() -> Any:
            return await selectors.campaign_list(user_id=user_id, limit=50)

        async def first_raw() -> Any:
            async with raw_pool.acquire() as conn:
                return await conn.fetch(first_sql, user_id, 51)

        assert [c.id for c in (await first_ours()).items] == [
            r["id"] for r in (await first_raw())[:50]
        ]

        results = [
            await _time(
                "single-row insert (campaign_create)",
                insert_ours,
                insert_raw,
                repetitions=repetitions,
                per_round=per_round,
            ),
            await _time(
                "insert 500 conversions idempotently",
                ingest_ours,
                ingest_raw,
                repetitions=repetitions,
                per_round=max(1, per_round // 10),
            ),
            await _time(
                "campaign rollup (60 days)",
                rollup_ours,
                rollup_raw,
                repetitions=repetitions,
                per_round=max(1, per_round // 5),
            ),
            await _time(
                "campaign page of 50 (first page)",
                first_ours,
                first_raw,
                repetitions=repetitions,
                per_round=per_round,
            ),
            await _time(
                "campaign page of 50 (page 61, keyset)",
                page_ours,
                page_raw,
                repetitions=repetitions,
                per_round=per_round,
            ),
        ]
        async with raw_pool.acquire() as conn:
            plan = await conn.fetch("EXPLAIN " + page_sql, user_id, *deep_key, 51)
        print("plan of the keyset page:")
        for line in plan:
            print("   ", line[0])
        return results
    finally:
        await raw_pool.close()
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an empty database to use instead of a throwaway server")
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off"],
        default="off",
        help="off (default) measures driver and ORM overhead rather than disk flushes",
    )
    args = parser.parse_args()
    url, work_dir = _prepare(args.url)
    try:
        from apps.core.dburl import parse_database_url

        async def configure() -> None:
            conn = await asyncpg.connect(parse_database_url(url).dsn)
            try:
                name = await conn.fetchval("SELECT current_database()")
                await conn.execute(
                    f"ALTER DATABASE {name} SET synchronous_commit = {args.synchronous_commit}"
                )
            finally:
                await conn.close()

        asyncio.run(configure())
        results = asyncio.run(run(url, repetitions=args.repetitions, per_round=args.per_round))
    finally:
        if work_dir is not None:
            from apps.core.embedded import stop_embedded_server

            stop_embedded_server(work_dir / "pg")
            shutil.rmtree(work_dir, ignore_errors=True)
    print(
        f"\n{'operation':<40} {'ours ms':>9} {'raw ms':>9} {'ours p95':>9} {'raw p95':>9} "
        f"{'time x':>7} {'thrpt':>6}"
    )
    for r in results:
        print(
            f"{r['name']:<40} {r['ours_ms']:>9.3f} {r['raw_ms']:>9.3f} {r['ours_p95_ms']:>9.3f} "
            f"{r['raw_p95_ms']:>9.3f} {r['time_ratio']:>7.2f} {1 / r['time_ratio']:>6.2f}"
        )
    print(
        "\ntime x = median time of the service / median time of raw asyncpg (1.00 is the floor;"
        " the goal is <= 1.5); thrpt = its inverse, throughput relative to raw asyncpg."
    )


if __name__ == "__main__":
    main()
