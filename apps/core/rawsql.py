"""Hand-written SQL on the project's engine, for hot paths and set-based statements.

Piccolo's query builder rebuilds the SQL in Python on every call and turns every row into a
dict; on small queries that costs about two thirds of the throughput asyncpg can give (see
``bench/``). Services and selectors whose SQL is fixed pass it here with ``$n`` placeholders:
asyncpg prepares each statement once per connection and reuses it.

This is the project's one way to run hand-written SQL. Every such statement is a module-level
constant made with :func:`statement` (which records it, so that ``tests/core/test_statements.py``
prepares each one against the migrated schema: a renamed column fails the suite at once), and
its column lists come from the table's ``_meta`` through :func:`columns`, never typed by hand.
A statement whose text varies (optional filters) registers every variant it can take.

A statement runs on the connection of the engine's current transaction when there is one, so
it joins ``async with Table._meta.db.transaction():`` (and the test suite's rolled-back
transaction) exactly as Piccolo's own queries do; otherwise on a pooled connection acquired
with the engine's pool timeout. asyncpg errors come out as the project's typed errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.query.base import Query
from piccolo.table import Table

from apps.core import replicas
from apps.core.db_errors import translate
from apps.core.engine import Fetch, GatewayEngine
from apps.core.errors import DatabaseUnavailableError, GatewayError, ValidationError

R = TypeVar("R")

STATEMENTS: dict[str, str] = {}
"""Every hand-written statement of the project, by text, with the module that made it."""

SETUP: dict[str, str] = {}
"""The statement a recorded statement needs run first in its session (a temporary table)."""


def statement(sql: str, *, owner: str | None = None, setup: str | None = None) -> str:
    """Record ``sql`` as a hand-written statement and return it unchanged.

    ``tests/core/test_statements.py`` prepares every recorded statement against the migrated
    schema. ``owner`` (the defining module's ``__name__``) appears in that test's failures.
    ``setup`` is what must run first in the same session for ``sql`` to make sense (the
    ``CREATE TEMPORARY TABLE`` of the table it reads); the test runs it before preparing.
    """
    STATEMENTS.setdefault(sql, owner or "?")
    if setup is not None:
        SETUP[sql] = setup
    return sql


def columns(
    table: type[Table],
    alias: str | None = None,
    *,
    exclude: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
) -> str:
    """The SELECT list of ``table``'s columns, from ``Table._meta``, in declaration order.

    ``columns(Asset, "a")`` gives ``a.id, a.user_id, ...``; ``only`` keeps the named columns
    (in declaration order), ``exclude`` drops some. An unknown name is a TypeError: the list
    must follow the table, not the other way round.
    """
    names = [column._meta.db_column_name for column in table._meta.columns]
    unknown = (set(exclude) | set(only)) - set(names)
    if unknown:
        raise TypeError(f"{table._meta.tablename} has no column {', '.join(sorted(unknown))}")
    prefix = f"{alias}." if alias else ""
    return ", ".join(
        prefix + name for name in names if name not in exclude and (not only or name in only)
    )


def engine_of(table: type[Table]) -> PostgresEngine:
    """The engine ``table`` is bound to (the one of ``piccolo_conf``)."""
    engine = table._meta.db
    if not isinstance(engine, PostgresEngine):  # pragma: no cover - a configuration error
        raise TypeError(f"{table._meta.tablename} is not bound to a PostgreSQL engine")
    return engine


async def _acquire(engine: PostgresEngine) -> asyncpg.Connection:
    if isinstance(engine, GatewayEngine):
        return await engine.acquire_connection()
    if engine.pool is not None:  # pragma: no cover - the project always uses GatewayEngine
        return await engine.pool.acquire()
    return await engine.get_new_connection()  # pragma: no cover


async def _release(engine: PostgresEngine, conn: asyncpg.Connection) -> None:
    # A broken connection is terminated, never returned to the pool; a failing reset on
    # release frees the slot too (GatewayEngine.release_connection).
    if isinstance(engine, GatewayEngine):
        await engine.release_connection(conn)
    elif engine.pool is not None:  # pragma: no cover - the project always uses GatewayEngine
        await engine.pool.release(conn)
    else:
        await conn.close()


@asynccontextmanager
async def connection(engine: PostgresEngine) -> AsyncIterator[asyncpg.Connection]:
    """The current transaction's connection, or a pooled one for the duration of the block.

    Several statements in one block share one connection (one acquire, one release).
    """
    transaction = engine.current_transaction.get()
    try:
        if transaction is not None:
            yield transaction.connection
            return
        conn = await _acquire(engine)
        try:
            yield conn
        finally:
            await _release(engine, conn)
    except DRIVER_ERRORS as error:
        raise typed_error(error) from error


# fetch, fetchrow and fetchval are the hot path of every selector: one function each, no
# generator-based context manager, and on the project's engine one call into its
# ``execute_statement`` (in the current transaction) or ``run_pooled`` (acquire, run,
# release without a task when the connection needs no reset).


async def _run(
    engine: PostgresEngine, sql: str, args: tuple[Any, ...], fetch: Fetch, record_class: Any
) -> Any:
    transaction = engine.current_transaction.get()
    try:
        if isinstance(engine, GatewayEngine):
            if transaction is not None:
                return await engine.execute_statement(
                    transaction.connection, sql, args, fetch, record_class
                )
            if engine.has_replicas and replicas.wants_replica():
                done, result = await replicas.run_on_replica(
                    engine.replicas, sql, args, fetch, record_class
                )
                if done:
                    return result
            return await engine.run_pooled(sql, args, fetch, record_class)
        # pragma: no cover - the project always uses GatewayEngine
        conn = transaction.connection if transaction is not None else await _acquire(engine)
        try:
            if fetch is Fetch.ROWS:
                return await conn.fetch(sql, *args, record_class=record_class)
            if fetch is Fetch.ROW:
                return await conn.fetchrow(sql, *args, record_class=record_class)
            return await conn.fetchval(sql, *args)
        finally:
            if transaction is None:
                await _release(engine, conn)
    except DRIVER_ERRORS as error:
        raise typed_error(error) from error


# fetch, fetchrow and fetchval are plain functions handing back _run's coroutine (no
# coroutine of their own per call): await them as usual.


@overload
def fetch(
    engine: PostgresEngine, sql: str, *args: Any
) -> Coroutine[Any, Any, list[asyncpg.Record]]: ...


@overload
def fetch(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[R]
) -> Coroutine[Any, Any, list[R]]: ...


def fetch(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[Any] | None = None
) -> Coroutine[Any, Any, list[Any]]:
    """All rows of ``sql`` (as ``record_class``, a :class:`apps.core.records.Row`, if given)."""
    return _run(engine, sql, args, Fetch.ROWS, record_class)


@overload
def fetchrow(
    engine: PostgresEngine, sql: str, *args: Any
) -> Coroutine[Any, Any, asyncpg.Record | None]: ...


@overload
def fetchrow(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[R]
) -> Coroutine[Any, Any, R | None]: ...


def fetchrow(
    engine: PostgresEngine, sql: str, *args: Any, record_class: type[Any] | None = None
) -> Coroutine[Any, Any, Any]:
    """The first row of ``sql``, or None."""
    return _run(engine, sql, args, Fetch.ROW, record_class)


def fetchval(engine: PostgresEngine, sql: str, *args: Any) -> Coroutine[Any, Any, Any]:
    """The first column of the first row of ``sql``, or None."""
    return _run(engine, sql, args, Fetch.VALUE, None)


# Piccolo's query builder writes the cold paths; its queries run here too, so that they return
# the project's one row type and go through the same connection, timing and error handling.


async def fetch_choices(table: type[Table], sql: str, limit: int) -> list[tuple[Any, str]]:
    """The ``(id, label)`` rows of a picker statement (``$1`` its limit) on ``table``'s engine."""
    rows = await fetch(engine_of(table), sql, limit)
    return [(row["id"], row["label"]) for row in rows]


def _compiled(query: Query[Any, Any]) -> tuple[PostgresEngine, str, tuple[Any, ...]]:
    (querystring,) = query.querystrings  # one statement on PostgreSQL
    sql, args = querystring.compile_string(engine_type="postgres")
    return engine_of(query.table), sql, tuple(args)


async def fetch_query(query: Query[Any, Any], *, record_class: type[R]) -> list[R]:
    """The rows of a Piccolo query (``Table.update(...).returning(...)``) as ``record_class``."""
    engine, sql, args = _compiled(query)
    rows: list[R] = await _run(engine, sql, args, Fetch.ROWS, record_class)
    return rows


async def fetchrow_query(query: Query[Any, Any], *, record_class: type[R]) -> R | None:
    """The first row of a Piccolo query as ``record_class``, or None."""
    engine, sql, args = _compiled(query)
    row: R | None = await _run(engine, sql, args, Fetch.ROW, record_class)
    return row


async def execute_query(query: Query[Any, Any]) -> None:
    """Run a Piccolo query whose result is not needed."""
    engine, sql, args = _compiled(query)
    await _run(engine, sql, args, Fetch.VALUE, None)


DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def typed_error(error: BaseException) -> GatewayError:
    """The project's typed error for an asyncpg error (no driver exception reaches a caller)."""
    if isinstance(error, asyncpg.PostgresError):
        return translate(error)
    if isinstance(error, asyncpg.InterfaceError):
        return _interface_error(error)
    return _broken_connection(error)


def _broken_connection(error: BaseException) -> GatewayError:
    # asyncpg's protocol state machine gave up (e.g. "cannot switch to state 15" after the
    # server went away mid-statement): the connection is unusable, the server may be fine.
    return DatabaseUnavailableError(f"the database connection broke: {error}")


def _interface_error(error: asyncpg.InterfaceError) -> GatewayError:
    # asyncpg's client-side DataError (an argument it cannot encode) is an InterfaceError
    # too, but a caller's mistake rather than a broken connection.
    if isinstance(error, ValueError):
        return ValidationError(f"invalid argument: {error}", rule="type")
    return DatabaseUnavailableError(f"the database connection failed: {error}")
