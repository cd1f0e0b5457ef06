"""The engine: pool settings from the URL, a pool timeout that times out, clear errors."""

import asyncio
import os

import pytest
from piccolo.querystring import QueryString

from apps.core.engine import GatewayEngine, build_engine
from apps.core.errors import DatabaseUnavailableError, PoolTimeoutError
from apps.core.settings import Settings

TEST_URL = os.environ["DATABASE_URL"]


def engine_for(url: str, **settings: object) -> GatewayEngine:
    return build_engine(Settings(database_url=url, **settings))  # type: ignore[arg-type]


async def test_url_pool_parameters_win_over_the_settings() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=3&pool_timeout=1.5", pool_max_size=20)
    assert engine.pool_max_size == 3 and engine.pool_timeout == 1.5
    engine = engine_for(TEST_URL, pool_max_size=20, pool_timeout=4)
    assert engine.pool_max_size == 20 and engine.pool_timeout == 4
    assert engine_for(TEST_URL, pool_timeout=0).pool_timeout is None


async def test_pool_timeout_really_times_out_with_a_clear_error() -> None:
    # given a pool of one connection that waits at most 0.2 s
    engine = engine_for(f"{TEST_URL}&connection_limit=1&pool_timeout=0.2")
    await engine.start_connection_pool()
    try:
        held = await engine.acquire_connection()
        # when another query needs a connection while the only one is held
        with pytest.raises(PoolTimeoutError) as info:
            await engine.run_querystring(QueryString("SELECT 1"))
        # then it fails with an error that says what to change
        assert "connection_limit" in str(info.value) and info.value.code == "pool_timeout"
        with pytest.raises(PoolTimeoutError):
            async with engine.transaction():
                pass
        # and once the connection is back, queries run again
        assert engine.pool is not None
        await engine.pool.release(held)
        rows = await engine.run_querystring(QueryString("SELECT 1 AS one"))
        assert rows[0]["one"] == 1
    finally:
        await engine.close_connection_pool()


async def test_a_waiting_query_gets_the_connection_when_it_is_released() -> None:
    engine = engine_for(f"{TEST_URL}&connection_limit=1&pool_timeout=5")
    await engine.start_connection_pool()
    try:
        held = await engine.acquire_connection()
        waiting = asyncio.create_task(engine.run_querystring(QueryString("SELECT 2 AS two")))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert engine.pool is not None
        await engine.pool.release(held)
        assert (await waiting)[0]["two"] == 2
    finally:
        await engine.close_connection_pool()


async def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    engine = engine_for("postgresql://app:hunter2@127.0.0.1:1/gateway?connect_timeout=2")
    with pytest.raises(DatabaseUnavailableError) as info:
        await engine.run_querystring(QueryString("SELECT 1"))
    message = str(info.value)
    assert "cannot connect to the database at postgresql://app:***@127.0.0.1:1/gateway" in message
    assert "hunter2" not in message
    with pytest.raises(DatabaseUnavailableError):
        await engine.start_connection_pool()


async def test_missing_socket_directory_is_a_clear_error() -> None:
    engine = engine_for("postgresql://postgres@/gateway?host=/nonexistent/socket/dir")
    with pytest.raises(DatabaseUnavailableError, match="cannot connect"):
        await engine.run_querystring(QueryString("SELECT 1"))


async def test_unknown_database_is_a_clear_error() -> None:
    url = TEST_URL.replace("/gatewaydb_test?", "/no_such_database?")
    with pytest.raises(DatabaseUnavailableError, match="no_such_database"):
        await engine_for(url).run_querystring(QueryString("SELECT 1"))


async def test_new_connections_decode_vectors() -> None:
    engine = engine_for(TEST_URL)
    rows = await engine.run_querystring(QueryString("SELECT '[1,2,3]'::vector AS v"))
    assert rows[0]["v"].to_list() == [1.0, 2.0, 3.0]
