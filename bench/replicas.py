"""Benchmark: how far a streaming replica trails the primary, and what a replica outage costs.

    .venv/bin/python -m bench.replicas [--writes 300]

A throwaway embedded PostgreSQL is started and migrated; a hot standby of it is made with
``pg_basebackup -R`` and started beside it (tests/scaling/standby.py), asynchronous streaming
replication over a unix socket, default settings. Then:

- visibility lag: ``--writes`` times, one row is committed on the primary and the standby is
  polled (a bare asyncpg connection, every 0.2 ms) until the row is there; the figures are the
  median, p95 and maximum of commit-to-visible;
- ``replay lag`` as the project's replica set sees it (``LAG_SQL``) right after a burst of
  writes;
- a lag-tolerant read (``user_get_by_email``) on the replica and on the primary (ops/s over
  2,000 calls each, interleaved): the replica costs no more than the primary;
- the replica stopped: the time of the first lag-tolerant read after the stop (it fails over
  to the primary) and of the next ones.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import stop_embedded_server  # noqa: E402
from bench.floor import _prepare_server  # noqa: E402
from tests.scaling.standby import Standby  # noqa: E402


async def _visibility_lag(primary: str, standby: str, writes: int) -> list[float]:
    write = await asyncpg.connect(parse_database_url(primary).dsn)
    read = await asyncpg.connect(parse_database_url(standby).dsn)
    try:
        await write.execute("CREATE TABLE IF NOT EXISTS lag_probe (id bigserial PRIMARY KEY)")
        await asyncio.sleep(1)  # the table reaches the standby
        lags = []
        for _ in range(writes):
            started = time.perf_counter()
            row_id = await write.fetchval("INSERT INTO lag_probe DEFAULT VALUES RETURNING id")
            # polling the other server is the measurement
            while await read.fetchval("SELECT 1 FROM lag_probe WHERE id = $1", row_id) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.0002)
            lags.append(time.perf_counter() - started)
        return lags
    finally:
        await write.close()
        await read.close()


async def _reads(node: Standby, standby_url: str) -> dict[str, float]:
    from apps.core.engine import Fetch, GatewayEngine
    from apps.core.replicas import LAG_SQL, Replica, ReplicaSet, lag_tolerant
    from apps.users.selectors import user_get_by_email
    from apps.users.services import user_create
    from piccolo_conf import DB

    await DB.start_connection_pool()
    replica_engine = GatewayEngine(
        url=parse_database_url(standby_url), pool_min_size=0, node="replica-1"
    )
    replicas = ReplicaSet([Replica(name="replica-1", engine=replica_engine)], max_lag=5.0)
    await replicas.start()
    figures: dict[str, float] = {}
    try:
        for n in range(200):
            await user_create(email=f"r{n}@example.com", name=f"Reader {n}")
        figures["replay lag after 200 writes (s)"] = float(
            await replica_engine.run_pooled(LAG_SQL, (), Fetch.VALUE) or 0.0
        )
        await asyncio.sleep(1)
        read = lag_tolerant(user_get_by_email)
        DB.replicas = ReplicaSet([], max_lag=0)
        primary_times: list[float] = []
        replica_times: list[float] = []
        for _ in range(10):
            for side, times in (("primary", primary_times), ("replica", replica_times)):
                DB.replicas = replicas if side == "replica" else ReplicaSet([], max_lag=0)
                started = time.perf_counter()
                for n in range(200):
                    await read(email=f"r{n}@example.com")
                times.append(200 / (time.perf_counter() - started))
        figures["lag-tolerant read on the primary (ops/s)"] = statistics.median(primary_times)
        figures["lag-tolerant read on the replica (ops/s)"] = statistics.median(replica_times)
        DB.replicas = replicas
        node.stop()
        started = time.perf_counter()
        await read(email="r1@example.com")
        figures["first read after the replica stopped (ms)"] = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        for n in range(100):
            await read(email=f"r{n}@example.com")
        figures["next reads, replica set aside (ms each)"] = (time.perf_counter() - started) * 10
    finally:
        await replicas.close()
        await DB.close_connection_pool()
    return figures


async def main(writes: int) -> None:
    work_dir, url = _prepare_server()
    node = Standby(url, Path(tempfile.mkdtemp(prefix="gwsb-")))
    try:
        node.create()
        node.start()
        standby_url = node.url(parse_database_url(url).database)
        lags = sorted(await _visibility_lag(url, standby_url, writes))
        print(f"visibility lag over {writes} commits (ms):")
        print(f"  median {statistics.median(lags) * 1e3:.2f}")
        print(f"  p95    {lags[int(len(lags) * 0.95) - 1] * 1e3:.2f}")
        print(f"  max    {lags[-1] * 1e3:.2f}")
        for name, value in (await _reads(node, standby_url)).items():
            print(f"{name}: {value:,.2f}")
    finally:
        node.destroy()
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    asyncio.run(main(parser.parse_args().writes))
