"""Benchmark: the users and media services against the same SQL run directly on asyncpg.

    make bench-services            (or: .venv/bin/python bench/services_users_media.py)

A throwaway embedded PostgreSQL is started in a temporary directory, migrated with the real
``piccolo migrations forwards all`` and seeded; then each operation runs through the
project's function (``ours``) and as the same SQL on a plain asyncpg pool (``raw``), both
with one pooled connection (min = max = 1, asyncpg's default reset on release), one
operation at a time. Before timing, both variants must return the same rows.

Each round runs ``ours`` and ``raw`` ``--calls`` times each, in alternating order (ours
first in even rounds, raw first in odd ones); short rounds keep both variants under the
same load on a shared machine. The figure per variant is the median over the rounds of the
mean time per call, plus the p95 of single calls. ratio = throughput of ours / throughput
of raw = raw time / our time (1.00 = as fast as the driver; the goal is >= 0.67, i.e. at
most 1.5x the time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import start_embedded_server, stop_embedded_server  # noqa: E402

DEEP_CLIPS = 20_000
DEEP_OFFSET = 15_000  # page 301 of 50
NESTED_CLIPS = 20
PREDICTIONS_PER_CLIP = 3
BULK_CLIPS = 500


@dataclass
class Result:
    name: str
    ours_us: float
    raw_us: float
    ours_p95_us: float
    raw_p95_us: float

    @property
    def ratio(self) -> float:
        return self.raw_us / self.ours_us


def _prepare_server() -> tuple[Path, str]:
    work_dir = Path(tempfile.mkdtemp(prefix="gwbench-"))
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


async def _time_calls(function: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    """Latency of each call, in microseconds."""
    latencies = []
    for _ in range(calls):
        start = time.perf_counter()
        await function()
        latencies.append((time.perf_counter() - start) * 1e6)
    return latencies


async def _measure(
    name: str,
    ours: Callable[[], Awaitable[Any]],
    raw: Callable[[], Awaitable[Any]],
    *,
    rounds: int,
    calls: int,
    after_each_round: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    for _ in range(max(3, calls)):  # warm up: prepared statements, caches
        await ours()
        await raw()
    if after_each_round is not None:
        await after_each_round()
    means: dict[str, list[float]] = {"ours": [], "raw": []}
    every: dict[str, list[float]] = {"ours": [], "raw": []}
    for round_number in range(rounds):
        order = [("ours", ours), ("raw", raw)]
        if round_number % 2:
            order.reverse()
        for variant, function in order:
            latencies = await _time_calls(function, calls)
            means[variant].append(statistics.fmean(latencies))
            every[variant] += latencies
            if after_each_round is not None:
                await after_each_round()

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    return Result(
        name,
        statistics.median(means["ours"]),
        statistics.median(means["raw"]),
        p95(every["ours"]),
        p95(every["raw"]),
    )


async def main(rounds: int, calls: int) -> list[Result]:
    from apps.media import selectors as media_selectors
    from apps.media import services as media_services
    from apps.media.selectors import assets as asset_selectors
    from apps.media.selectors import clips as clip_selectors
    from apps.media.services import NewClip
    from apps.media.services import clips as clip_services
    from apps.users import selectors as user_selectors
    from apps.users import services as user_services
    from piccolo_conf import DB

    dsn = parse_database_url(os.environ["DATABASE_URL"]).dsn
    await DB.start_connection_pool(min_size=1, max_size=1)
    raw_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert raw_pool is not None

    settings = await raw_pool.fetch(
        "SELECT name, setting FROM pg_settings WHERE name IN "
        "('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'work_mem', "
        "'jit') ORDER BY name"
    )
    print("server:", ", ".join(f"{row['name']}={row['setting']}" for row in settings))
    print("pools: one connection each (min=max=1), asyncpg default reset on release")

    # --- seed (through the services) ----------------------------------------------------
    user = await user_services.user_create(email="bench@example.com", name="Bench")
    issued = await user_services.api_key_issue(user_id=user.id, name="bench", scopes=["r"])

    async def new_asset(name: str) -> uuid.UUID:
        asset = await media_services.asset_register(
            user_id=user.id,
            filename=f"{name}.mp4",
            original_name=f"{name}.mp4",
            mime_type="video/mp4",
            file_size=50_000_000,
            gcs_url=f"gs://bench/{name}.mp4",
        )
        return asset.id

    def clip_batch(count: int, offset: int = 0) -> list[NewClip]:
        return [
            NewClip(
                start_time=(offset + i) * 0.5,
                end_time=(offset + i) * 0.5 + 3.0,
                features={"emotion": "joy", "logo": i % 3 == 0},
                face_count=i % 4,
                has_text=i % 2 == 0,
                score=((offset + i) * 7919 % 1000) / 1000,
                status="SCORED",
                metadata={"model": "cutter-1"},
            )
            for i in range(count)
        ]

    deep_asset = await new_asset("deep")
    for start in range(0, DEEP_CLIPS, 5_000):
        await media_services.clip_bulk_create(
            asset_id=deep_asset, clips=clip_batch(5_000, offset=start)
        )
    nested_asset = await new_asset("nested")
    nested_ids = await media_services.clip_bulk_create(
        asset_id=nested_asset, clips=clip_batch(NESTED_CLIPS)
    )
    for clip_id in nested_ids:
        for version in range(PREDICTIONS_PER_CLIP):
            await media_services.prediction_record(
                clip_id=clip_id,
                model_version=f"v1.{version}",
                predicted_roas=2.5,
                predicted_ctr=0.02,
                confidence=0.8,
            )
    bulk_asset = await new_asset("bulk")
    async with raw_pool.acquire() as conn:
        await conn.execute("VACUUM ANALYZE")

    # The deep page: the cursor of the row just before position DEEP_OFFSET.
    before = await raw_pool.fetchrow(
        "SELECT start_time, id FROM clips WHERE asset_id = $1 ORDER BY start_time, id "
        "OFFSET $2 LIMIT 1",
        deep_asset,
        DEEP_OFFSET - 1,
    )
    assert before is not None
    from apps.core.pagination import encode_cursor

    deep_cursor = encode_cursor(
        list_name=f"media.clip_list:{deep_asset}:None", values=[before[0], before[1]]
    )

    # --- the operations, ours and raw ---------------------------------------------------
    user_sql = user_selectors._USER_BY_EMAIL
    verify_sql = user_services._VERIFY_API_KEY
    key_hash = user_services.hash_api_key(issued.key)
    resolution = user_services.LAST_USED_RESOLUTION
    first_page_sql = clip_selectors._CLIP_LIST.statements[(False, False)]
    next_page_sql = clip_selectors._CLIP_LIST.statements[(False, True)]
    bulk_sql = clip_services._BULK_INSERT_CLIPS
    nested_sqls = (
        asset_selectors._ASSET_BY_ID,
        asset_selectors._NESTED_CLIPS,
        asset_selectors._NESTED_PREDICTIONS,
    )

    async def ours_user() -> Any:
        return await user_selectors.user_get_by_email(email="bench@example.com")

    async def raw_user() -> Any:
        return await raw_pool.fetchrow(user_sql, "bench@example.com")

    async def ours_verify() -> Any:
        return await user_services.api_key_verify(key=issued.key)

    async def raw_verify() -> Any:
        return await raw_pool.fetchrow(verify_sql, key_hash, resolution)

    async def ours_page() -> Any:
        return await media_selectors.clip_list(asset_id=deep_asset, limit=50)

    async def raw_page() -> Any:
        return await raw_pool.fetch(first_page_sql, deep_asset, 51)

    async def ours_deep() -> Any:
        return await media_selectors.clip_list(asset_id=deep_asset, limit=50, cursor=deep_cursor)

    async def raw_deep() -> Any:
        return await raw_pool.fetch(next_page_sql, deep_asset, before[0], before[1], 51)

    async def ours_nested() -> Any:
        return await media_selectors.asset_get_with_clips(asset_id=nested_asset)

    async def raw_nested() -> Any:
        async with raw_pool.acquire() as conn:
            asset = await conn.fetchrow(nested_sqls[0], nested_asset)
            clips = await conn.fetch(nested_sqls[1], nested_asset)
            predictions = await conn.fetch(nested_sqls[2], nested_asset)
        return asset, clips, predictions

    bulk_input = clip_batch(BULK_CLIPS)
    bulk_tuples = [
        (
            c.start_time,
            c.end_time,
            c.clip_url,
            c.thumbnail_url,
            '{"emotion": "joy"}',
            c.face_count,
            c.has_text,
            c.has_speech,
            c.has_music,
            c.score,
            c.viral_score,
            c.engagement_score,
            c.brand_safety_score,
            "SCORED",
            '{"model": "cutter-1"}',
        )
        for c in bulk_input
    ]

    async def ours_bulk() -> Any:
        return await media_services.clip_bulk_create(asset_id=bulk_asset, clips=bulk_input)

    async def raw_bulk() -> Any:
        columns = [list(column) for column in zip(*bulk_tuples, strict=True)]
        ids = [uuid.uuid4() for _ in bulk_tuples]
        return await raw_pool.fetchval(bulk_sql, bulk_asset, ids, *columns)

    async def clear_bulk() -> None:
        await raw_pool.execute("DELETE FROM clips WHERE asset_id = $1", bulk_asset)

    # --- same results before timing -----------------------------------------------------
    ours_u, raw_u = await ours_user(), await raw_user()
    assert (ours_u.id, ours_u.email) == (raw_u["id"], raw_u["email"])
    ours_k, raw_k = await ours_verify(), await raw_verify()
    assert (ours_k.key_id, ours_k.user_id, ours_k.scopes) == (raw_k[0], raw_k[1], raw_k[2])
    ours_p, raw_p = await ours_page(), await raw_page()
    assert [c.id for c in ours_p.items] == [row["id"] for row in raw_p[:50]]
    ours_d, raw_d = await ours_deep(), await raw_deep()
    assert [c.id for c in ours_d.items] == [row["id"] for row in raw_d[:50]]
    offset_ids = await raw_pool.fetch(
        "SELECT id FROM clips WHERE asset_id = $1 ORDER BY start_time, id OFFSET $2 LIMIT 50",
        deep_asset,
        DEEP_OFFSET,
    )
    assert [c.id for c in ours_d.items] == [row["id"] for row in offset_ids]
    ours_n, raw_n = await ours_nested(), await raw_nested()
    assert [c.clip.id for c in ours_n.clips] == [row["id"] for row in raw_n[1]]
    assert sum(len(c.predictions) for c in ours_n.clips) == len(raw_n[2])
    assert len(raw_n[2]) == NESTED_CLIPS * PREDICTIONS_PER_CLIP
    assert len(await ours_bulk()) == await raw_bulk() == BULK_CLIPS
    await clear_bulk()

    results = []
    for name, ours, raw, cleanup, factor in (
        ("user by email", ours_user, raw_user, None, 1),
        ("api key verify", ours_verify, raw_verify, None, 1),
        ("page of 50 clips", ours_page, raw_page, None, 1),
        (f"deep keyset page (offset {DEEP_OFFSET})", ours_deep, raw_deep, None, 1),
        (
            f"asset + {NESTED_CLIPS} clips + {NESTED_CLIPS * PREDICTIONS_PER_CLIP} predictions",
            ours_nested,
            raw_nested,
            None,
            1,
        ),
        (f"bulk insert {BULK_CLIPS} clips", ours_bulk, raw_bulk, clear_bulk, 4),
    ):
        result = await _measure(
            name,
            ours,
            raw,
            rounds=max(2, rounds // factor),
            calls=calls,
            after_each_round=cleanup,
        )
        results.append(result)
        print(
            f"{result.name:<45} ours {result.ours_us:9.1f} us   raw {result.raw_us:9.1f} us"
            f"   p95 {result.ours_p95_us:9.1f} / {result.raw_p95_us:9.1f} us"
            f"   ratio {result.ratio:4.2f}",
            flush=True,
        )

    await raw_pool.close()
    await DB.close_connection_pool()
    return results


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="alternating rounds (median)")
    parser.add_argument("--calls", type=int, default=10, help="calls per variant per round")
    args = parser.parse_args()
    work_dir, _ = _prepare_server()
    try:
        results = asyncio.run(main(args.rounds, args.calls))
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)
    print()
    print(
        "| operation | ours median (us) | raw median (us) | ours p95 (us) | raw p95 (us) "
        "| ratio (ours/raw throughput) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.ours_us:.0f} | {r.raw_us:.0f} | {r.ours_p95_us:.0f} "
            f"| {r.raw_p95_us:.0f} | {r.ratio:.2f} |"
        )


if __name__ == "__main__":
    run()
