"""Hand-written SQL on the project's engine, for hot paths and set-based statements.

Piccolo's query builder rebuilds the SQL in Python on every call and turns every row into a
dict; on small queries that costs about two thirds of the throughput asyncpg can give (see
``bench/``). Services and selectors whose SQL is fixed pass it here with ``$n`` placeholders:
asyncpg prepares each statement once per connection and reuses it.

A statement runs on the connection of the engine's current transaction when there is one, so
it joins ``async with Table._meta.db.transaction():`` (and the test suite's rolled-back
transaction) exactly as Piccolo's own queries do; otherwise on a pooled connection acquired
with the engine's pool timeout. asyncpg errors come out as the project's typed errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from apps.core.db_errors import translate_errors
from apps.core.engine import GatewayEngine

R = TypeVar("R")


def engine_of(table: type[Table]) -> PostgresEngine:
    """The engine ``table`` is bound to (the one of ``piccolo_conf``)."""
    engine = table._meta.db
    if not isinstance(engine, PostgresEngine):  # pragma: no cover - a configuration error
        raise TypeError(f"{table._meta.tablename} is not bound to a PostgreSQL engine")
    return engine


@asynccontextmanager
async def connection(engine: PostgresEngine) -> AsyncIterator[asyncpg.Connection]:
    """The current transaction's connection, or a pooled one for the duration of the block.

    Several statements in one block share one connection (one acquire, one release).
    """
    transaction = engine.current_transaction.get()
    if transaction is not None:
        async with translate_errors():
            yield transaction.connection
        return
    pool = engine.pool
    async with translate_errors():
        if isinstance(engine, GatewayEngine):
            conn = await engine.acquire_connection()
        elif pool is not None:  # pragma: no cover - the project always uses GatewayEngine
            conn = await pool.acquire()
        else:  # pragma: no cover
            conn = await engine.get_new_connection()
        try:
            yield conn
        finally:
            if pool is not None:
                await pool.release(conn)
            else:
                await conn.close()


@overload
async def fetch(engine: PostgresEngine, sql: str, *args: Any) -> list[asyncpg.Record]: ...


@overload
async def fetch(engine: PostgresEngine, sql: str, *args: Any, record_class: type[R]) -> list[R]: ...


async def fetch(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[Any] | None = None
) -> list[Any]:
    """All rows of ``sql`` (as ``record_class``, a :class:`apps.core.records.Row`, if given)."""
    async with connection(engine) as conn:
        rows: list[Any] = await conn.fetch(sql, *args, record_class=record_class)
    return rows


@overload
async def fetchrow(engine: PostgresEngine, sql: str, *args: Any) -> asyncpg.Record | None: ...


@overload
async def fetchrow(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[R]
) -> R | None: ...


async def fetchrow(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[Any] | None = None
) -> Any:
    """The first row of ``sql``, or None."""
    async with connection(engine) as conn:
        return await conn.fetchrow(sql, *args, record_class=record_class)


async def fetchval(engine: PostgresEngine, sql: str, *args: Any) -> Any:
    """The first column of the first row of ``sql``, or None."""
    async with connection(engine) as conn:
        return await conn.fetchval(sql, *args)
