"""Where a point read's time goes: one layer added at a time, against the floor.

    .venv/bin/python -m bench.point_layers [--rounds 7] [--calls 2000] [--profile]

A throwaway embedded PostgreSQL is migrated and holds one user. The same statement
(``user_get_by_email``'s) is run through each layer of the stack, alternating the layers
round after round, and each layer's median ops/s is printed with its ratio to the floor:

- ``floor``: a statement prepared once on a bare asyncpg connection, ``stmt.fetchrow()``;
- ``bare conn.fetchrow``: the same connection, asyncpg's statement cache looked up per call;
- ``engine acquire/release``: the engine's ``acquire_connection`` + ``fetchrow`` +
  ``release_connection`` on a pool of one connection;
- ``rawsql.fetchrow``: the helper every selector calls (current transaction, error mapping);
- ``service``: ``user_get_by_email(email=...)``, with ``@validated`` and the typed row.

``--profile`` runs cProfile over the service calls and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import stop_embedded_server  # noqa: E402
from bench.floor import _prepare_server  # noqa: E402

Call = Callable[[], Awaitable[Any]]
EMAIL = "layers@example.com"


async def _ops(call: Call, calls: int) -> tuple[float, float]:
    """ops/s (wall clock) and this process's CPU time per call in us."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await call()
    return calls / (time.perf_counter() - start), (time.process_time() - cpu) / calls * 1e6


async def main(rounds: int, calls: int, profile: bool) -> None:
    from apps.core import rawsql
    from apps.users import selectors as user_selectors
    from apps.users.records import UserRecord
    from apps.users.selectors import _USER_BY_EMAIL
    from apps.users.tables import User
    from piccolo_conf import DB

    dsn = parse_database_url(os.environ["DATABASE_URL"]).dsn
    bare = await asyncpg.connect(dsn)
    await bare.execute("INSERT INTO users (email, name) VALUES ($1, 'Layers')", EMAIL)
    await DB.start_connection_pool(min_size=1, max_size=1)
    engine = rawsql.engine_of(User)
    stmt = await bare.prepare(_USER_BY_EMAIL, record_class=UserRecord)

    async def floor() -> Any:
        return await stmt.fetchrow(EMAIL)

    async def bare_fetchrow() -> Any:
        return await bare.fetchrow(_USER_BY_EMAIL, EMAIL, record_class=UserRecord)

    async def engine_acquire() -> Any:
        conn = await DB.acquire_connection()
        try:
            return await conn.fetchrow(_USER_BY_EMAIL, EMAIL, record_class=UserRecord)
        finally:
            await DB.release_connection(conn)

    async def helper() -> Any:
        return await rawsql.fetchrow(engine, _USER_BY_EMAIL, EMAIL, record_class=UserRecord)

    async def service() -> Any:
        return await user_selectors.user_get_by_email(email=EMAIL)

    layers: dict[str, Call] = {
        "floor (prepared stmt.fetchrow)": floor,
        "bare conn.fetchrow (statement cache)": bare_fetchrow,
        "engine acquire + fetchrow + release": engine_acquire,
        "rawsql.fetchrow": helper,
        "service user_get_by_email": service,
    }
    for call in layers.values():
        for _ in range(50):
            assert (await call())["email"] == EMAIL
    ops: dict[str, list[float]] = {name: [] for name in layers}
    cpu: dict[str, list[float]] = {name: [] for name in layers}
    order = list(layers.items())
    for round_number in range(rounds):
        for name, call in order if round_number % 2 == 0 else reversed(order):
            wall, cpu_us = await _ops(call, calls)
            ops[name].append(wall)
            cpu[name].append(cpu_us)
    floor_ops = statistics.median(ops["floor (prepared stmt.fetchrow)"])
    print(f"{'layer':<40} {'ops/s':>8} {'us/call':>8} {'client CPU us':>14} {'ratio':>6}")
    for name, values in ops.items():
        median = statistics.median(values)
        print(
            f"{name:<40} {median:8.0f} {1e6 / median:8.1f} "
            f"{statistics.median(cpu[name]):14.1f} {median / floor_ops:6.2f}"
        )
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            await service()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    await DB.close_connection_pool()
    await bare.close()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (median)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per layer per round")
    parser.add_argument("--profile", action="store_true", help="cProfile the service calls")
    args = parser.parse_args()
    work_dir, _ = _prepare_server()
    try:
        asyncio.run(main(args.rounds, args.calls, args.profile))
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    run()
