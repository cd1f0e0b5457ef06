"""Benchmark: what query timing and metrics cost on the point-read service workload.

    .venv/bin/python -m bench.observability [--rounds 100] [--calls 200]

A throwaway embedded PostgreSQL is started in a temporary directory, migrated with the real
``piccolo migrations forwards all`` and given 1,000 users (through ``user_create``). Three
sides read one user by email, one operation at a time:

- ``on``: ``user_get_by_email`` with timing and metrics on (the default);
- ``off``: the same call with ``GATEWAYDB_METRICS_ENABLED=false`` (switched in process);
- ``floor``: the same SQL, prepared once on one bare asyncpg connection (no pool).

``on`` and ``off`` use the project's engine (a pool of one connection). Each round makes
``--calls`` calls per side, the sides alternating call by call (their order rotating); the
figures are the medians over the rounds of ops/s, and the cost of
observability is the median over the rounds of 1 - ops(on) / ops(off), with its quartiles
(the spread a shared machine adds). The three sides must return the same row before timing.
The bookkeeping line times the hook's own work per query (``record_query``, its batch
folded into the histogram and the hour every 256 queries) without the database. The
server preloads pg_stat_statements like every embedded server (server time added to every
side alike); ``GATEWAYDB_EMBEDDED_PG_STAT_STATEMENTS=false`` measures without it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from apps.core.dburl import parse_database_url  # noqa: E402
from apps.core.embedded import stop_embedded_server  # noqa: E402
from apps.core.observability import SLOW_QUERY_LOGGER  # noqa: E402
from bench.floor import Call, _prepare_server  # noqa: E402
from tests.core.statements import count_statements  # noqa: E402

USERS = 1_000


async def _timed(call: Call, calls: int) -> float:
    """ops/s of ``calls`` consecutive calls."""
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return calls / (time.perf_counter() - started)


async def main(rounds: int, calls: int) -> dict[str, float]:
    from apps.core import observability
    from apps.users import selectors, services
    from piccolo_conf import DB

    await DB.start_connection_pool(min_size=1, max_size=1)
    for number in range(USERS):
        await services.user_create(email=f"user{number}@example.com", name=f"User {number}")
    email = f"user{USERS // 2}@example.com"

    async def ours() -> Any:
        return await selectors.user_get_by_email(email=email)

    with count_statements() as statements:
        expected = await ours()
    assert len(statements.executed) == 1, statements.executed
    [(sql, args)] = statements.executed
    bare = await asyncpg.connect(parse_database_url(os.environ["DATABASE_URL"]).dsn)
    prepared = await bare.prepare(sql)

    async def floor() -> Any:
        return await prepared.fetchrow(*args)

    def switch(side: str) -> None:
        observability.configure(enabled=side != "off")

    sides: dict[str, Call] = {"on": ours, "off": ours, "floor": floor}
    # Every side returns the same user.
    for side, call in sides.items():
        switch(side)
        row = await call()
        assert (row["id"] if side == "floor" else row.id) == expected.id, side
        await _timed(call, calls)  # warm up
    # The sides alternate call by call (the order rotating), so that the machine's load,
    # which moves a lot on a shared machine, weighs on all of them alike.
    ops: dict[str, list[float]] = {side: [] for side in sides}
    names = list(sides)
    for _ in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for call_number in range(calls):
            shift = call_number % 3
            for side in names[shift:] + names[:shift]:
                switch(side)
                started = time.perf_counter()
                await sides[side]()
                spent[side] += time.perf_counter() - started
        for side in names:
            ops[side].append(calls / spent[side])
    observability.configure(enabled=True)
    await bare.close()
    await DB.close_connection_pool()
    medians = {name: statistics.median(values) for name, values in ops.items()}
    # The cost per round (on and off measured side by side), then its median.
    costs = [1 - on_ops / off_ops for on_ops, off_ops in zip(ops["on"], ops["off"], strict=True)]
    medians["cost"] = statistics.median(costs)
    quartiles = statistics.quantiles(costs, n=4)
    medians["cost_q1"], medians["cost_q3"] = quartiles[0], quartiles[2]
    # The bookkeeping alone (counters, histogram, history) per query, without the database.
    repeat = 20_000
    started = time.perf_counter()
    for _ in range(repeat):
        observability.record_query(sql, 0.0003, 1)
    medians["bookkeeping_us"] = (time.perf_counter() - started) / repeat * 1e6
    return medians


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200)
    options = parser.parse_args()
    # A slow-query line on stderr per stalled call would bury the figures (the shared machine
    # stalls some); the queries are still timed and counted. The product's default is unchanged.
    logging.getLogger(SLOW_QUERY_LOGGER).setLevel(logging.ERROR)
    work_dir, _url = _prepare_server()
    try:
        figures = asyncio.run(main(options.rounds, options.calls))
    finally:
        stop_embedded_server(work_dir / "pg")
        shutil.rmtree(work_dir, ignore_errors=True)
    on, off, floor = figures["on"], figures["off"], figures["floor"]
    print(f"user_get_by_email, {options.rounds} rounds x {options.calls} calls per side")
    print(f"  metrics on   {on:8.0f} ops/s (median)  ratio to floor {on / floor:.2f}")
    print(f"  metrics off  {off:8.0f} ops/s (median)  ratio to floor {off / floor:.2f}")
    print(f"  floor        {floor:8.0f} ops/s (median)")
    print(
        f"  cost of timing and metrics: {figures['cost']:.1%} (median of per-round "
        f"1 - on/off; quartiles {figures['cost_q1']:.1%} .. {figures['cost_q3']:.1%})"
    )
    print(
        f"  bookkeeping per query: {figures['bookkeeping_us']:.1f} us = "
        f"{figures['bookkeeping_us'] * off / 1e6:.1%} of an uninstrumented call"
    )


if __name__ == "__main__":
    run()
