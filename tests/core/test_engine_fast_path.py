"""The engine's fast acquire/release: no task per release, waiters keep their turn, the
inactivity timer still shrinks a pool that grew, transactions still roll back."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Generator
from typing import Any

from piccolo.querystring import QueryString

from apps.core import rawsql
from apps.core.engine import Fetch, GatewayEngine, build_engine
from apps.core.settings import Settings

TEST_URL = os.environ["DATABASE_URL"]


def engine_for(url: str) -> GatewayEngine:
    return build_engine(Settings(database_url=url))


def _count_tasks(loop: asyncio.AbstractEventLoop, created: list[str]) -> None:
    def factory(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        created.append(getattr(coro, "__qualname__", repr(coro)))
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)


async def test_a_clean_borrow_creates_no_task_and_a_changed_one_is_reset() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=1")
    await engine.start_connection_pool()
    loop = asyncio.get_running_loop()
    created: list[str] = []
    try:
        await engine.run_pooled("SELECT 1", ())  # warm up: codecs, statement cache
        _count_tasks(loop, created)
        # given a pool of one, when plain statements borrow and give back its connection
        for _ in range(3):
            assert await engine.run_pooled("SELECT 1", (), Fetch.VALUE) == 1
            assert (await engine.run_querystring(QueryString("SELECT 2 AS two")))[0]["two"] == 2
        # then asyncpg's shielded release task never ran
        assert created == []
        # and a borrower that changed its session takes the pool's path: reset, in a task
        await engine.run_pooled("SET work_mem = '7MB'", ())
        assert created, "a changed session must go through the pool's reset"
        assert await engine.run_pooled("SHOW work_mem", (), Fetch.VALUE) != "7MB"
    finally:
        loop.set_task_factory(None)
        await engine.close_connection_pool()


async def test_a_waiter_keeps_its_turn_over_a_newcomer() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=1&pool_timeout=5")
    await engine.start_connection_pool()
    try:
        held = await engine.acquire_connection()
        order: list[str] = []

        async def borrow(name: str) -> None:
            connection = await engine.acquire_connection()
            order.append(name)
            await asyncio.sleep(0.01)
            await engine.release_connection(connection)

        waiter = asyncio.create_task(borrow("waiter"))
        await asyncio.sleep(0.05)
        # when the connection comes back and a newcomer asks at once
        await engine.release_connection(held)
        await borrow("newcomer")
        await waiter
        # then the one who waited got it first
        assert order == ["waiter", "newcomer"]
    finally:
        await engine.close_connection_pool()


async def test_a_pool_that_grew_still_shrinks_after_inactivity() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=3")
    await engine.start_connection_pool(max_inactive_connection_lifetime=0.2)
    try:
        assert engine.pool is not None
        held = [await engine.acquire_connection() for _ in range(3)]
        assert engine.pool.get_size() == 3
        for connection in held:
            await engine.release_connection(connection)
        await asyncio.sleep(0.6)
        assert engine.pool.get_size() == engine.pool.get_min_size() == 1
        assert await engine.run_pooled("SELECT 3", (), Fetch.VALUE) == 3
    finally:
        await engine.close_connection_pool()


async def test_a_transaction_left_open_is_rolled_back_on_release() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=1")
    await engine.start_connection_pool()
    try:
        connection = await engine.acquire_connection()
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE fast_path_probe (x int)")
        await engine.release_connection(connection)
        # the next borrower is outside any transaction and the table was rolled back
        sql = "SELECT to_regclass('pg_temp.fast_path_probe') IS NULL AND now() = now()"
        assert await engine.run_pooled(sql, (), Fetch.VALUE) is True
        again = await engine.acquire_connection()
        try:
            assert not again._con._protocol.is_in_transaction()
        finally:
            await engine.release_connection(again)
    finally:
        await engine.close_connection_pool()


async def test_rawsql_uses_the_same_path() -> None:
    # the helpers every selector uses go through run_pooled on the project's engine
    from apps.users.tables import User

    engine = rawsql.engine_of(User)
    assert isinstance(engine, GatewayEngine)
    assert await rawsql.fetchval(engine, "SELECT $1::int + 1", 41) == 42
