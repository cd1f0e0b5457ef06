"""The pool gauges move when connections are held, callers wait, or the wait times out."""

from __future__ import annotations

import asyncio
import os

import pytest

from apps.core import observability
from apps.core.dburl import parse_database_url
from apps.core.engine import GatewayEngine
from apps.core.errors import PoolTimeoutError
from piccolo_conf import DB
from tests.observability.conftest import sample


async def test_gauges_count_the_connections_held() -> None:
    # given the project's pool and its gauges now
    in_use = sample("gatewaydb_pool_in_use", node="primary")
    # when two more connections are held
    held = [await DB.acquire_connection(), await DB.acquire_connection()]
    try:
        # then "in use" counts them, and size = in use + idle
        assert sample("gatewaydb_pool_in_use", node="primary") == in_use + 2
        figures = observability.pool_figures(DB)
        assert figures.size == figures.in_use + figures.idle
        assert figures.max_size == DB.pool_max_size
    finally:
        for connection in held:
            await DB.release_connection(connection)
    assert sample("gatewaydb_pool_in_use", node="primary") == in_use


async def test_waiting_callers_and_pool_timeouts_are_counted() -> None:
    # given a pool of one connection that is held
    engine = GatewayEngine(
        url=parse_database_url(os.environ["DATABASE_URL"]),
        pool_min_size=1,
        pool_max_size=1,
        pool_timeout=0.5,
    )
    await engine.start_connection_pool()
    try:
        held = await engine.acquire_connection()
        timeouts = sample("gatewaydb_pool_timeouts_total", node="primary")
        waits = sample("gatewaydb_pool_wait_seconds_count", node="primary")
        # when a second caller waits for it
        waiter = asyncio.create_task(engine.acquire_connection())
        await asyncio.sleep(0.05)
        # then it is counted as waiting until it gives up with a PoolTimeoutError
        assert observability.pool_figures(engine).waiting == 1
        assert observability.pool_figures(engine).in_use == 1
        with pytest.raises(PoolTimeoutError):
            await waiter
        assert observability.pool_figures(engine).waiting == 0
        assert sample("gatewaydb_pool_timeouts_total", node="primary") == timeouts + 1
        assert sample("gatewaydb_pool_wait_seconds_count", node="primary") == waits + 1
        await engine.release_connection(held)
        assert observability.pool_figures(engine).idle == 1
    finally:
        await engine.close_connection_pool()
    assert observability.pool_figures(engine).size == 0


async def test_a_connection_that_cannot_be_made_is_counted() -> None:
    url = parse_database_url("postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=1")
    engine = GatewayEngine(url=url, pool_min_size=0, pool_max_size=1)
    before = sample("gatewaydb_connection_errors_total", node="primary")
    with pytest.raises(Exception, match="cannot connect"):
        await engine.get_new_connection()
    assert sample("gatewaydb_connection_errors_total", node="primary") == before + 1
