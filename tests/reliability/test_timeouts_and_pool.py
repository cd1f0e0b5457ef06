"""Statement timeout, lock timeout, a terminated backend and pool exhaustion: typed errors,
no leaked slot, no session left idle in a transaction, and the task goes on working."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from apps.core import rawsql
from apps.core.errors import (
    DatabaseUnavailableError,
    LockTimeoutError,
    PoolTimeoutError,
    StatementTimeoutError,
)
from tests.reliability.helpers import TEST_URL, engine_for, sessions, terminate_backend

pytestmark = pytest.mark.reliability


def _tagged(extra: str) -> tuple[str, str]:
    name = f"rel_{uuid.uuid4().hex[:10]}"
    return f"{TEST_URL}&application_name={name}{extra}", name


async def test_a_statement_timeout_is_typed_and_the_task_goes_on() -> None:
    url, name = _tagged("&connection_limit=1&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        with pytest.raises(StatementTimeoutError) as info:
            async with engine.transaction():
                await rawsql.fetchval(engine, "SET LOCAL statement_timeout = 100")
                await rawsql.fetchval(engine, "SELECT pg_sleep(5)")
        assert info.value.code == "statement_timeout"
        assert await rawsql.fetchval(engine, "SELECT 1") == 1
        assert "idle in transaction" not in await sessions(name)
    finally:
        await engine.close_connection_pool()


async def test_a_lock_timeout_is_typed_and_the_task_goes_on() -> None:
    url, name = _tagged("&connection_limit=2&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    holder = await engine.acquire_connection()
    try:
        # given another session holding the advisory lock 42 inside a transaction
        await holder.execute("BEGIN; SELECT pg_advisory_xact_lock(42)")
        # when a task waits for it with a 100 ms lock timeout
        with pytest.raises(LockTimeoutError) as info:
            async with engine.transaction():
                await rawsql.fetchval(engine, "SET LOCAL lock_timeout = 100")
                await rawsql.fetchval(engine, "SELECT pg_advisory_xact_lock(42)")
        # then it fails typed, and works again at once
        assert info.value.code == "lock_timeout"
        assert await rawsql.fetchval(engine, "SELECT 2") == 2
        await holder.execute("ROLLBACK")
    finally:
        await engine.release_connection(holder)
        await engine.close_connection_pool()
    assert await sessions(name) == []


async def test_a_backend_terminated_between_queries_costs_one_typed_error() -> None:
    url, _ = _tagged("&connection_limit=1&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        connection = await engine.acquire_connection()
        pid = connection.get_server_pid()
        await engine.release_connection(connection)
        await terminate_backend(pid)
        await asyncio.sleep(0.1)
        failures = 0
        for value in range(5):
            try:
                assert await rawsql.fetchval(engine, "SELECT $1::int", value) == value
            except DatabaseUnavailableError:
                failures += 1
        assert failures <= 1
    finally:
        await engine.close_connection_pool()


async def test_pool_exhaustion_and_cancellation_leave_no_leaked_slot() -> None:
    # given a pool of 3 connections and 30 tasks that each hold one for 0.2 s
    url, name = _tagged("&connection_limit=3&pool_timeout=0.3")
    engine = engine_for(url)
    await engine.start_connection_pool()
    outcomes: dict[str, int] = {"ok": 0, "pool_timeout": 0, "cancelled": 0}
    try:

        async def hold() -> None:
            async with engine.transaction():
                await rawsql.fetchval(engine, "SELECT pg_sleep(0.2)")

        started = time.monotonic()
        tasks = [asyncio.create_task(hold()) for _ in range(30)]
        await asyncio.sleep(0.1)
        for task in tasks[::5]:  # cancel some of them mid-wait or mid-query
            task.cancel()
        for task in tasks:
            try:
                await task
                outcomes["ok"] += 1
            except PoolTimeoutError:
                outcomes["pool_timeout"] += 1
            except asyncio.CancelledError:
                outcomes["cancelled"] += 1
        elapsed = time.monotonic() - started
        print(f"\n30 tasks on a pool of 3 (pool_timeout 0.3 s): {outcomes} in {elapsed:.2f} s")
        # then every task ended typed, and all 3 slots come back at once
        assert sum(outcomes.values()) == 30 and outcomes["pool_timeout"] > 0
        held = []
        async with asyncio.timeout(1):
            held = [await engine.acquire_connection() for _ in range(3)]
        for connection in held:
            await engine.release_connection(connection)
        assert "idle in transaction" not in await sessions(name)
    finally:
        await engine.close_connection_pool()
    assert await sessions(name) == []
