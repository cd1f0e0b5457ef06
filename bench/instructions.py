"""CPU per call, ours against the floor, for the point read, the nested read and the vector
search; deterministic with callgrind (instruction counts do not move with the machine's load).

    .venv/bin/python -m bench.instructions user|nested|hnsw [--rounds 5] [--calls 300]
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=_operator_call \\
        --dump-after=_operator_call --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python -m bench.instructions nested --callgrind --calls 5
    grep '^totals' /tmp/cg.*.*        # one file per side, in --sides order; divide by --calls

A throwaway embedded PostgreSQL is loaded with ``bench.floor``'s data at scale 0.05, plus
what makes the nested read the one of ``make bench`` at scale 1: 1,000 live clips on the
bench asset and 1,000 predictions on its first clip. ``ours`` is the service call; ``floor``
the same statements prepared once on a bare asyncpg connection with the arguments ours sent
(for the search, ``floor_vector`` gets the embedding as a ready pgvector ``Vector``, as the
floor did before the list encoder). Sides for the point read split its layers: ``unchecked``
(the body without ``@validated``), ``rawsql`` (``rawsql.fetchrow``), ``pooled``
(``engine.run_pooled``), ``pooled_untimed`` (the same with query timing off).

Without ``--callgrind``: alternating rounds, this process's CPU time per call (median).
With it: each side runs ``--calls`` calls inside ``operator.call`` (the callgrind toggle),
one profile part per side.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import operator
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import stop_embedded_server  # noqa: E402
from bench.floor import _load, _prepare_server, _replay  # noqa: E402

Call = Callable[[], Awaitable[Any]]
SIDES = {
    "user": "ours,unchecked,rawsql,pooled,pooled_untimed,floor",
    "nested": "ours,floor",
    "hnsw": "ours,floor,floor_vector",
}


async def _sides(workload: str) -> dict[str, Call]:
    from pgvector import Vector
    from pgvector.asyncpg import register_vector

    from apps.core import observability, rawsql
    from apps.core.engine import Fetch
    from apps.knowledge import selectors as knowledge
    from apps.media import selectors as media
    from apps.users import selectors as users
    from apps.users.records import UserRecord
    from piccolo_conf import DB
    from tests.core.statements import count_statements

    bare = await asyncpg.connect(parse_database_url(os.environ["DATABASE_URL"]).dsn)
    await register_vector(bare)
    keys = await _load(bare, 0.05)
    asset, now = keys["nested_asset"], datetime.datetime.now(datetime.UTC)
    await bare.copy_records_to_table(
        "clips",
        records=[(uuid.uuid4(), asset, float(i), float(i + 3), 3.0, 0.5, now) for i in range(950)],
        columns=["id", "asset_id", "start_time", "end_time", "duration", "score", "created_at"],
    )
    await bare.copy_records_to_table(
        "predictions",
        records=[(keys["clip_id"], "v1", 2.0) for _ in range(1000)],
        columns=["clip_id", "model_version", "predicted_roas"],
    )
    await bare.execute("VACUUM ANALYZE")
    await DB.start_connection_pool(min_size=1, max_size=1)
    email = "bench@example.com"
    ours: Call = {
        "user": lambda: users.user_get_by_email(email=email),
        "nested": lambda: media.asset_get_with_clips(asset_id=asset),
        "hnsw": lambda: knowledge.document_search_vector(
            embedding=keys["query_vector"], model="bench-model", k=10
        ),
    }[workload]
    floor, _ = await _replay(bare, ours)
    sides: dict[str, Call] = {"ours": ours, "floor": floor}
    if workload == "hnsw":
        with count_statements() as sent:
            await ours()
        ready = [
            (await bare.prepare(sql), tuple(Vector(a) if isinstance(a, list) else a for a in args))
            for sql, args in sent.executed
        ]

        async def floor_vector() -> Any:
            return [await statement.fetch(*args) for statement, args in ready]

        sides["floor_vector"] = floor_vector
    if workload == "user":
        engine = DB
        sql = users._USER_BY_EMAIL

        async def untimed() -> Any:
            observability.config.enabled = False
            try:
                return await engine.run_pooled(sql, (email,), Fetch.ROW, UserRecord)
            finally:
                observability.config.enabled = True

        body: Callable[..., Awaitable[Any]] = users.user_get_by_email.__wrapped__  # type: ignore[attr-defined]
        sides["unchecked"] = lambda: body(email=email)
        sides["rawsql"] = lambda: rawsql.fetchrow(engine, sql, email, record_class=UserRecord)
        sides["pooled"] = lambda: engine.run_pooled(sql, (email,), Fetch.ROW, UserRecord)
        sides["pooled_untimed"] = untimed
    for call in sides.values():
        for _ in range(20):
            await call()
    return sides


async def _cpu(sides: dict[str, Call], rounds: int, calls: int) -> None:
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    for round_number in range(rounds):
        for name, call in order if round_number % 2 == 0 else reversed(order):
            started = time.process_time()
            for _ in range(calls):
                await call()
            cpu[name].append((time.process_time() - started) / calls * 1e6)
    floor = statistics.median(cpu["floor"])
    for name, values in cpu.items():
        median = statistics.median(values)
        print(f"{name:<16} CPU {median:10.1f} us/call   x floor {median / floor:5.2f}")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(SIDES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sides", default="", help="comma separated (default: all)")
    parser.add_argument("--callgrind", action="store_true", help="one toggled part per side")
    args = parser.parse_args()
    work_dir, _ = _prepare_server()
    loop = asyncio.new_event_loop()
    try:
        sides = loop.run_until_complete(_sides(args.workload))
        wanted = (args.sides or SIDES[args.workload]).split(",")
        sides = {name: sides[name] for name in wanted}
        if not args.callgrind:
            loop.run_until_complete(_cpu(sides, args.rounds, args.calls))
            return

        async def batch(call: Call) -> None:
            for _ in range(args.calls):
                await call()

        for name, call in sides.items():
            operator.call(loop.run_until_complete, batch(call))
            print(f"callgrind part: {name}")
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    run()
