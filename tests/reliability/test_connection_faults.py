"""Defects 1-3 of issue 11: a dead connection, a broken release, a connect timeout.

Each test gives its engine a pool of its own and an ``application_name`` so the server can
be asked which sessions it still holds.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from apps.core import engine as engine_module
from apps.core import rawsql
from apps.core.errors import DatabaseUnavailableError, PoolTimeoutError
from tests.reliability.helpers import (
    TEST_URL,
    engine_for,
    sessions,
    silent_server,
    terminate_backend,
)

pytestmark = pytest.mark.reliability


def _tagged_url(extra: str = "") -> tuple[str, str]:
    name = f"rel_{uuid.uuid4().hex[:10]}"
    return f"{TEST_URL}&application_name={name}{extra}", name


async def test_a_task_works_again_after_its_transactions_connection_dies() -> None:
    # given a worker inside a transaction whose backend the operator terminates
    url, name = _tagged_url("&connection_limit=2&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        with pytest.raises(DatabaseUnavailableError):
            async with engine.transaction() as transaction:
                await rawsql.fetchval(engine, "SELECT 1")
                await terminate_backend(transaction.connection.get_server_pid())
                await asyncio.sleep(0.1)
        # when the same task (and a task it creates) queries again
        # then they get fresh connections: nothing of the dead transaction is left
        assert engine.current_transaction.get() is None
        assert await rawsql.fetchval(engine, "SELECT 2") == 2
        assert await asyncio.create_task(rawsql.fetchval(engine, "SELECT 3")) == 3
        async with engine.transaction():
            assert await rawsql.fetchval(engine, "SELECT 4") == 4
        # and every pool slot is usable (none leaked to the dead connection)
        held = [await engine.acquire_connection() for _ in range(2)]
        for connection in held:
            await engine.release_connection(connection)
    finally:
        await engine.close_connection_pool()
    assert await sessions(name) == []


async def test_a_commit_on_a_dead_connection_is_typed_and_clears_the_transaction() -> None:
    # given a transaction whose backend dies just before the commit
    url, _ = _tagged_url("&connection_limit=1&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        transaction = engine.transaction()
        await transaction.__aenter__()
        await terminate_backend(transaction.connection.get_server_pid())
        await asyncio.sleep(0.1)
        # when the block ends without an error (so the engine commits)
        with pytest.raises(DatabaseUnavailableError) as info:
            await transaction.__aexit__(None, None, None)
        # then the failure is typed and the one pool slot is free again
        assert info.value.code == "database_unavailable"
        assert engine.current_transaction.get() is None
        assert await rawsql.fetchval(engine, "SELECT 5") == 5
    finally:
        await engine.close_connection_pool()


async def test_a_long_lived_worker_keeps_working_across_terminated_backends() -> None:
    # given a worker loop that runs a transaction per batch (like conversion_ingest_batch)
    url, _ = _tagged_url("&connection_limit=2&pool_timeout=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    outcomes: list[str] = []
    try:
        for batch in range(6):
            try:
                async with engine.transaction() as transaction:
                    await rawsql.fetchval(engine, "SELECT $1::int", batch)
                    if batch % 2 == 0:  # every other batch loses its backend mid-way
                        await terminate_backend(transaction.connection.get_server_pid())
                        await asyncio.sleep(0.05)
                        await rawsql.fetchval(engine, "SELECT 1")
                outcomes.append("ok")
            except DatabaseUnavailableError:
                outcomes.append("lost")
        # then only the batches whose backend died failed, each with a typed error
        assert outcomes == ["lost", "ok"] * 3
    finally:
        await engine.close_connection_pool()


async def test_a_connection_whose_reset_breaks_is_terminated_and_the_pool_closes() -> None:
    # given a pool whose release reset fails the way asyncpg fails on a connection broken
    # mid-protocol ("cannot switch to state 15")
    url, name = _tagged_url("&connection_limit=2&pool_timeout=1")
    engine = engine_for(url)

    async def broken_reset(connection: asyncpg.Connection) -> None:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 15")

    await engine.start_connection_pool(reset=broken_reset)
    try:
        # when queries release their connections
        for value in range(4):
            assert await rawsql.fetchval(engine, "SELECT $1::int", value) == value
        # then no raw asyncpg error escaped, the broken connections were terminated (not
        # returned) and both slots can still be taken
        held = [await engine.acquire_connection() for _ in range(2)]
        for connection in held:
            connection.terminate()
    finally:
        started = time.monotonic()
        await engine.close_connection_pool()
        assert time.monotonic() - started < 5
    assert await sessions(name) == []


async def test_closing_the_pool_is_bounded_when_a_connection_is_never_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a connection a crashed task never gave back
    monkeypatch.setattr(engine_module, "POOL_CLOSE_SECONDS", 0.5)
    url, name = _tagged_url("&connection_limit=2")
    engine = engine_for(url)
    await engine.start_connection_pool()
    leaked = await engine.acquire_connection()
    assert await leaked.fetchval("SELECT 1") == 1
    # when the app shuts down, then closing the pool returns (it terminates what is busy)
    started = time.monotonic()
    async with asyncio.timeout(5):
        await engine.close_connection_pool()
    print(f"\npool close with a leaked connection: {time.monotonic() - started:.2f} s")
    assert engine.pool is None
    await asyncio.sleep(0.2)
    assert await sessions(name) == []


async def test_a_connect_timeout_is_reported_as_unavailable_not_as_a_pool_timeout() -> None:
    async with silent_server() as port:
        # given a pool that opens connections on demand to a server that never answers
        url = (
            f"postgresql://app:hunter2@127.0.0.1:{port}/gateway?connect_timeout=0.3&pool_timeout=5"
        )
        engine = engine_for(url, pool_min_size=0)
        await engine.start_connection_pool()
        try:
            # when a query needs a connection
            with pytest.raises(DatabaseUnavailableError) as info:
                await rawsql.fetchval(engine, "SELECT 1")
        finally:
            await engine.close_connection_pool()
    # then the error says the server cannot be reached, not "raise connection_limit"
    message = str(info.value)
    assert "cannot connect" in message and "timed out" in message
    assert "connection_limit" not in message and "hunter2" not in message
    assert not isinstance(info.value, PoolTimeoutError)


async def test_a_connect_timeout_with_no_pool_timeout_is_a_clear_error() -> None:
    async with silent_server() as port:
        # given pool_timeout=0 (wait for ever for a free slot) and an unreachable server
        url = f"postgresql://app:pw@127.0.0.1:{port}/gateway?connect_timeout=0.3&pool_timeout=0"
        engine = engine_for(url, pool_min_size=0)
        assert engine.pool_timeout is None
        await engine.start_connection_pool()
        try:
            # when a query needs a connection, then the error is typed (not a TypeError)
            with pytest.raises(DatabaseUnavailableError, match="timed out"):
                await rawsql.fetchval(engine, "SELECT 1")
        finally:
            await engine.close_connection_pool()


async def test_pool_timeout_zero_never_reports_a_pool_timeout() -> None:
    url, _ = _tagged_url("&connection_limit=1&pool_timeout=0")
    engine = engine_for(url)
    await engine.start_connection_pool()
    try:
        held = await engine.acquire_connection()
        waiting = asyncio.create_task(rawsql.fetchval(engine, "SELECT 6"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await engine.release_connection(held)
        assert await waiting == 6
    finally:
        await engine.close_connection_pool()


async def test_a_connection_whose_set_up_fails_is_not_left_open(scratch_database: str) -> None:
    # given a database where a type named "vector" exists but is not pgvector's, so the
    # codec set-up of every new connection fails
    setup = await asyncpg.connect(scratch_database.replace("postgresql://", "postgres://", 1))
    await setup.execute("CREATE TYPE vector AS (x integer)")
    await setup.close()
    name = f"rel_{uuid.uuid4().hex[:10]}"
    engine = engine_for(f"{scratch_database}&application_name={name}")
    # when connections are opened and their set-up fails
    for _ in range(3):
        with pytest.raises(DatabaseUnavailableError, match="failed its set-up"):
            await engine.get_new_connection()
    # then none of them stays open on the server
    await asyncio.sleep(0.2)
    assert await sessions(name) == []
