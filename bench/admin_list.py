"""Benchmark: the admin's clips list view at 1,000,000 clips, ours against stock.

Run by hand: ``make bench-admin`` (``python -m bench.admin_list --clips 1000000``).

It creates a scratch database on the configured server (``DATABASE_URL`` or the embedded
one), migrates it with the real CLI, loads the clips with COPY (100 users with 10 assets each;
1% of the clips soft-deleted, five statuses, random scores), runs VACUUM ANALYZE, then times
the API calls the list view makes (the count and the page of rows) through the ASGI app with
httpx, for:

- first page: ``/count/`` + page 1 ordered by score;
- filtered page: the same with ``status=SCORED``;
- deep page: page 10,000 (rows 150,000 to 150,015);
- sorted page: page 2 ordered by rank.

Then it soft-deletes 10% of the users and 100 of the other users' assets (10% of the assets;
with the deleted users' ones, 20% of the clips sit under a deleted parent and the list hides
them) and times the same
views again ("with deleted parents"), unless ``--no-deleted-parents``.

Each against our admin (GatewayCRUD) and stock Piccolo Admin (PiccoloCRUD) on the same
tables, alternating, after a warm-up; plus the SQL our admin runs, sent directly with asyncpg,
as the floor. It checks that ours and stock list the same rows before timing (with deleted
parents, stock still lists their rows: it is timed for reference, and ours is checked
against the floor only).
The scratch database is dropped at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PAGE_SIZE = 15
DEEP_PAGE = 10_000
STATUSES = ["PENDING", "ANALYZED", "SCORED", "PUBLISHED", "REJECTED"]
LOGIN = ("bench", "bench-password-123456")
USERS = 100


async def delete_parents(url: str) -> tuple[int, int]:
    """Soft-delete 10% of the users and 100 of the other users' assets; returns how many
    assets and clips are now under a deleted parent."""
    from apps.core.dburl import parse_database_url

    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        await connection.execute(
            "UPDATE users SET deleted_at = now() WHERE email ~ '^bench[0-9]*0@'"
        )
        await connection.execute(
            "UPDATE assets a SET deleted_at = now() FROM ("
            "SELECT a.id, row_number() OVER (ORDER BY a.id) AS n FROM assets a "
            "JOIN users u ON u.id = a.user_id WHERE u.deleted_at IS NULL) pick "
            "WHERE pick.id = a.id AND pick.n % 9 = 0"
        )
        await connection.execute("VACUUM ANALYZE users")
        await connection.execute("VACUUM ANALYZE assets")
        await connection.execute("VACUUM ANALYZE clips")
        dead = "SELECT a.id FROM assets a JOIN users u ON u.id = a.user_id " + (
            "WHERE a.deleted_at IS NOT NULL OR u.deleted_at IS NOT NULL"
        )
        assets = await connection.fetchval(f"SELECT count(*) FROM ({dead}) d")
        clips = await connection.fetchval(f"SELECT count(*) FROM clips WHERE asset_id IN ({dead})")
    finally:
        await connection.close()
    return int(assets), int(clips)


def server_url() -> str:
    from apps.core.engine import resolve_database_url
    from apps.core.settings import get_settings

    return resolve_database_url(get_settings())


def with_database(url: str, name: str) -> str:
    from apps.core.dburl import parse_database_url

    parsed = parse_database_url(url)
    return url.replace(f"/{parsed.database}", f"/{name}", 1)


async def admin_execute(url: str, *statements: str) -> None:
    from apps.core.dburl import parse_database_url

    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def load(url: str, clips: int) -> float:
    """COPY ``clips`` clips (over 1,000 assets of 100 users); returns the seconds it took."""
    from apps.core.dburl import parse_database_url

    started = time.perf_counter()
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        user_ids = [uuid.uuid4() for _ in range(USERS)]
        await connection.copy_records_to_table(
            "users",
            columns=["id", "email", "name"],
            records=[(u, f"bench{i}@example.com", "Bench") for i, u in enumerate(user_ids)],
        )
        asset_ids = [uuid.uuid4() for _ in range(1000)]
        await connection.copy_records_to_table(
            "assets",
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
                "status",
            ],
            records=[
                (
                    a,
                    user_ids[n % USERS],
                    f"{a}.mp4",
                    f"{a}.mp4",
                    "video/mp4",
                    1000,
                    f"gs://b/{a}.mp4",
                    "b",
                    f"{a}.mp4",
                    "READY",
                )
                for n, a in enumerate(asset_ids)
            ],
        )
        rng = random.Random(7)
        batch = 100_000
        for start in range(0, clips, batch):
            records = []
            for i in range(start, min(start + batch, clips)):
                begin = float(i % 600)
                records.append(
                    (
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        asset_ids[i % 1000],
                        begin,
                        begin + 5.0,
                        5.0,
                        rng.random(),
                        i // 1000 + 1,
                        STATUSES[i % 5],
                        _deleted() if i % 100 == 0 else None,
                    )
                )
            await connection.copy_records_to_table(
                "clips",
                columns=[
                    "id",
                    "asset_id",
                    "start_time",
                    "end_time",
                    "duration",
                    "score",
                    "rank",
                    "status",
                    "deleted_at",
                ],
                records=records,
            )
        await connection.execute("VACUUM ANALYZE clips")
        await connection.execute("VACUUM ANALYZE assets")
    finally:
        await connection.close()
    return time.perf_counter() - started


def _deleted() -> Any:
    import datetime

    return datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--no-deleted-parents",
        action="store_true",
        help="skip the second pass (10%% of the users and assets soft-deleted)",
    )
    args = parser.parse_args()

    base = server_url()
    name = f"bench_admin_{uuid.uuid4().hex[:8]}"
    url = with_database(base, name)
    await admin_execute(base, f"CREATE DATABASE {name}")
    try:
        env = {**os.environ, "DATABASE_URL": url}
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        seconds = await load(url, args.clips)
        print(f"loaded {args.clips:,} clips with COPY + VACUUM ANALYZE in {seconds:.1f} s")
        os.environ["DATABASE_URL"] = url  # before anything imports piccolo_conf
        from apps.core.settings import get_settings

        get_settings.cache_clear()  # server_url() read the settings without it
        await run(url, args.repetitions, deleted_parents=not args.no_deleted_parents)
    finally:
        if not args.keep:
            from piccolo_conf import DB

            await DB.close_connection_pool()
            await admin_execute(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def run(url: str, repetitions: int, *, deleted_parents: bool) -> None:
    import httpx
    from piccolo.apps.user.tables import BaseUser
    from piccolo_admin.endpoints import create_admin
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from app import create_app
    from apps.core.dburl import parse_database_url
    from apps.core.settings import Settings
    from apps.media.tables import Clip
    from piccolo_conf import DB

    await DB.start_connection_pool()
    await BaseUser.create_user(
        username=LOGIN[0], password=LOGIN[1], email="bench@example.com", active=True, admin=True
    )
    settings = Settings(admin_login_attempts=1000)
    ours = create_app(settings)
    stock = Starlette(
        routes=[Mount("/admin/", create_admin([Clip], auth_table=BaseUser, site_name="stock"))]
    )
    clients = {}
    for label, asgi in (("ours", ours), ("stock", stock)):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://testserver", timeout=120
        )
        await client.get("/admin/")
        response = await client.post(
            "/admin/public/login/",
            json={"username": LOGIN[0], "password": LOGIN[1]},
            headers={"X-CSRFToken": client.cookies.get("csrftoken") or ""},
        )
        assert response.status_code == 200, response.text
        clients[label] = client

    scenarios: dict[str, dict[str, Any]] = {
        "first page": {},
        "filtered page (status=SCORED)": {"status": "SCORED"},
        f"deep page ({DEEP_PAGE:,})": {"__page": DEEP_PAGE},
        "sorted by rank, page 2": {"__page": 2, "__order": "rank"},
    }

    async def list_view(
        client: httpx.AsyncClient, filters: dict[str, Any], tie_break: str = ""
    ) -> list[str]:
        params = {k: v for k, v in filters.items() if k not in ("__page", "__order")}
        count = await client.get("/admin/api/tables/clips/count/", params=params)
        rows = await client.get(
            "/admin/api/tables/clips/",
            params={
                "__readable": "true",
                "__page_size": PAGE_SIZE,
                "__order": filters.get("__order", "-score") + tie_break,
                "__page": filters.get("__page", 1),
                **params,
            },
        )
        assert count.status_code == 200 and rows.status_code == 200, rows.text
        return [row["id"] for row in rows.json()["rows"]]

    raw = await asyncpg.connect(parse_database_url(url).dsn)

    from apps.adminsite.config import dead_parents_sql
    from apps.media.admin import LIVE_ASSET
    from apps.media.tables import Clip

    # the statement the clips list runs for its not-live assets (the media app's definition)
    dead_assets_sql = dead_parents_sql(Clip, *LIVE_ASSET)

    async def raw_view(filters: dict[str, Any]) -> list[str]:
        # The SQL our admin sends for the same view, sent directly: first the deleted
        # parents (their rows are hidden: asset_id <> ALL(...), when there are any), then
        # the count and the page.
        dead = [r["id"] for r in await raw.fetch(dead_assets_sql)]
        offset = (filters.get("__page", 1) - 1) * PAGE_SIZE
        if "status" in filters:
            where = "status = $1 AND deleted_at IS NULL"
            args: list[Any] = [filters["status"]]
            if dead:
                where += " AND asset_id <> ALL($2)"
                args.append(dead)
            await raw.fetchval(f"EXPLAIN (FORMAT JSON) SELECT id FROM clips WHERE {where}", *args)
        else:
            await raw.fetchval(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'clips'::regclass"
            )
            where, args = "deleted_at IS NULL", []
            if dead:
                where += " AND asset_id <> ALL($1)"
                args.append(dead)
        dead = [r["id"] for r in await raw.fetch(dead_assets_sql)]  # the rows call reads them too
        n = len(args)
        order = "rank, id" if filters.get("__order") == "rank" else "score DESC, id"
        ids = [
            r["id"]
            for r in await raw.fetch(
                f"SELECT id FROM clips WHERE {where} ORDER BY {order} "
                f"OFFSET ${n + 1} LIMIT ${n + 2}",
                *args,
                offset,
                PAGE_SIZE,
            )
        ]
        rows = await raw.fetch(
            "SELECT c.*, a.original_name AS asset_readable FROM clips c "
            "LEFT JOIN assets a ON a.id = c.asset_id "
            f"WHERE c.id = ANY($1) ORDER BY {order}",
            ids,
        )
        return [str(r["id"]) for r in rows]

    variants: dict[str, Callable[[dict[str, Any]], Awaitable[list[str]]]] = {
        "ours": lambda f: list_view(clients["ours"], f),
        # stock lists soft-deleted rows too; ask it for live rows to compare like with like
        # (and for the same order: stock has no id tie-break unless asked)
        "stock": lambda f: list_view(
            clients["stock"], {**f, "deleted_at__operator": "is_null"}, tie_break=",id"
        ),
        "asyncpg": raw_view,
    }
    settings_rows = await raw.fetch(
        "SELECT name, current_setting(name) AS setting FROM pg_settings "
        "WHERE name IN ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', "
        "'synchronous_commit', "
        "'effective_cache_size', 'random_page_cost') ORDER BY name"
    )
    print(
        "server:",
        await raw.fetchval("SHOW server_version"),
        "|",
        ", ".join(f"{r['name']}={r['setting']}" for r in settings_rows),
    )
    print(
        f"page size {PAGE_SIZE}; {repetitions} timed repetitions per variant, alternating, "
        "after 3 warm-ups; each sample = the count call + the rows call\n"
    )
    await time_views(scenarios, variants, repetitions, "", compare_stock=True)
    if deleted_parents:
        assets, hidden = await delete_parents(url)
        print(
            f"\nwith deleted parents: 10 of {USERS} users and {assets - 100} other assets "
            f"soft-deleted; {assets} of 1,000 assets and {hidden:,} clips under a deleted parent"
        )
        for label in ("ours", "asyncpg"):  # one plan each, with the hiding filter
            await variants[label](scenarios["first page"])
        await time_views(scenarios, variants, repetitions, " +dp", compare_stock=False)
        await print_plan(raw, dead_assets_sql)
    await raw.close()
    for client in clients.values():
        await client.aclose()


async def time_views(
    scenarios: dict[str, dict[str, Any]],
    variants: dict[str, Callable[[dict[str, Any]], Awaitable[list[str]]]],
    repetitions: int,
    suffix: str,
    *,
    compare_stock: bool,
) -> None:
    print(f"{'scenario':38} {'variant':8} {'p50 ms':>9} {'p95 ms':>9} {'p50/asyncpg':>12}")
    for name, filters in scenarios.items():
        scenario = name + suffix
        results = {label: await call(filters) for label, call in variants.items()}
        same = results["ours"] == results["asyncpg"] and (
            not compare_stock or results["ours"] == results["stock"]
        )
        samples: dict[str, list[float]] = {label: [] for label in variants}
        for repetition in range(repetitions + 3):
            order = list(variants) if repetition % 2 == 0 else list(reversed(variants))
            for label in order:
                started = time.perf_counter()
                await variants[label](filters)
                if repetition >= 3:
                    samples[label].append((time.perf_counter() - started) * 1000)
        floor = statistics.median(samples["asyncpg"])
        for label in variants:
            p50 = statistics.median(samples[label])
            p95 = percentile(samples[label], 0.95)
            print(f"{scenario:38} {label:8} {p50:9.1f} {p95:9.1f} {p50 / floor:12.1f}")
        which = "all three" if compare_stock else "ours and asyncpg"
        print(f"{'':38} same rows in {which}: {same}")


async def print_plan(raw: asyncpg.Connection, dead_assets_sql: str) -> None:
    """The plan of the first page with the hiding filter (the shape our admin sends)."""
    dead = [r["id"] for r in await raw.fetch(dead_assets_sql)]
    plan = await raw.fetch(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM clips "
        "WHERE deleted_at IS NULL AND asset_id <> ALL($1) ORDER BY score DESC, id "
        f"OFFSET 0 LIMIT {PAGE_SIZE}",
        dead,
    )
    print("\nplan of the first page with the hiding filter:")
    for row in plan:
        line = row[0]
        print("  " + (line[:100] + "...]'::uuid[]))" if "ALL ('{" in line else line))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    from apps.core.observability import SLOW_QUERY_LOGGER

    # The stock admin's queries are slow on purpose here: their slow-query log lines (one
    # per request, on stderr) would bury the figures. The product's default is unchanged.
    logging.getLogger(SLOW_QUERY_LOGGER).setLevel(logging.ERROR)
    asyncio.run(main())
