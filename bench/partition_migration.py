"""Benchmark: how long writers are blocked while the partitioning migration runs.

    .venv/bin/python -m bench.partition_migration [--rows 2000000] [--seconds 5]

A throwaway embedded PostgreSQL is migrated with the real ``piccolo migrations forwards
all``, then the partitioning migration is taken back (``backwards``) so that conversions is
a plain table; ``--rows`` conversions spread over two years are loaded with one INSERT ...
SELECT (each with an external_id). A writer then inserts one conversion at a time (a new
external_id, the current time) on its own bare asyncpg connection, in a loop: first for
``--seconds`` alone (baseline), then while ``piccolo migrations forwards ads`` converts
both history tables. Printed: the migration's total time, the writer's median, p99 and
worst insert latency before and during, and the number of inserts it made meanwhile.
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
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import start_embedded_server, stop_embedded_server  # noqa: E402

MIGRATION_ID = "2026-11-28T12:45:46:286548"


def _piccolo(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "GATEWAYDB_ENVIRONMENT": "test"}
    subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


async def _writer(dsn: str, stop: asyncio.Event, latencies: list[float], tag: str) -> None:
    conn = await asyncpg.connect(dsn)
    insert = await conn.prepare("INSERT INTO conversions (value, external_id) VALUES (1, $1)")
    n = 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            await insert.fetch(f"w-{tag}-{n}")
            latencies.append(time.perf_counter() - started)
            n += 1
            await asyncio.sleep(0.002)
    finally:
        await conn.close()


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} inserts, median {statistics.median(ordered) * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, worst {ordered[-1] * 1000:.1f} ms"
    )


async def main(rows: int, seconds: float) -> None:
    work_dir = Path(tempfile.mkdtemp(prefix="gwdb-part-"))
    try:
        url = start_embedded_server(work_dir / "pg", database="bench", cleanup="delete")
        dsn = parse_database_url(url).dsn
        _piccolo(url, "migrations", "forwards", "all")
        _piccolo(
            url, "migrations", "backwards", "ads", f"--migration_id={MIGRATION_ID}", "--auto_agree"
        )
        conn = await asyncpg.connect(dsn)
        started = time.perf_counter()
        await conn.execute(
            'INSERT INTO conversions (value, external_id, "timestamp", created_at) '
            "SELECT (g % 100) + 0.5, 'load-' || g, "
            "now() - (g % 730) * interval '1 day' - (g % 86400) * interval '1 second', now() "
            f"FROM generate_series(1, {rows}) g"
        )
        await conn.execute("VACUUM ANALYZE conversions")
        print(f"loaded {rows:,} conversions in {time.perf_counter() - started:.1f} s")
        before: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(_writer(dsn, stop, before, "b"))
        await asyncio.sleep(seconds)
        stop.set()
        await task
        during: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(_writer(dsn, stop, during, "d"))
        started = time.perf_counter()
        await asyncio.to_thread(_piccolo, url, "migrations", "forwards", "ads")
        migration = time.perf_counter() - started
        stop.set()
        await task
        total = await conn.fetchval("SELECT count(*) FROM conversions")
        kind = await conn.fetchval(
            "SELECT relkind::text FROM pg_class WHERE relname = 'conversions'"
        )
        await conn.close()
        assert kind == "p" and total == rows + len(before) + len(during), (kind, total)
        print(f"migration (forwards, both tables): {migration:.1f} s")
        print(f"writer before: {_summary(before)}")
        print(f"writer during: {_summary(during)}")
        print(f"rows after: {total:,} (every load and writer row kept)")
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="conversions to load")
    parser.add_argument("--seconds", type=float, default=5.0, help="baseline writer time")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.seconds))


if __name__ == "__main__":
    run()
