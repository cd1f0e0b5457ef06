"""Dedicated connections for the lifecycle commands, outside any pool, and the migration
role they change the schema as (``DATABASE_MIGRATION_URL``)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ParamSpec, TypeVar

import asyncpg
from piccolo.engine import engine_finder

from apps.core.dburl import DatabaseUrl, parse_database_url
from apps.core.engine import GatewayEngine
from apps.core.errors import ConfigurationError
from apps.core.settings import Settings, get_settings


def project_engine() -> GatewayEngine:
    """The engine of ``piccolo_conf`` (the one ``PICCOLO_CONF`` names)."""
    engine = engine_finder()
    if not isinstance(engine, GatewayEngine):
        raise ConfigurationError("piccolo_conf.py must define DB = build_engine()")
    return engine


@asynccontextmanager
async def dedicated_connection() -> AsyncIterator[asyncpg.Connection]:
    """A new connection (with the configured connect timeout), closed afterwards."""
    connection = await project_engine().get_new_connection()
    try:
        yield connection
    finally:
        await connection.close()


def migration_url(settings: Settings | None = None) -> DatabaseUrl | None:
    """``DATABASE_MIGRATION_URL`` parsed (with the configured connect timeout), or None."""
    settings = settings or get_settings()
    if not settings.database_migration_url:
        return None
    try:
        url = parse_database_url(settings.database_migration_url)
    except ConfigurationError as error:
        raise ConfigurationError(
            error.message.replace("DATABASE_URL", "DATABASE_MIGRATION_URL"),
            field="DATABASE_MIGRATION_URL" if error.field == "DATABASE_URL" else error.field,
            rule=error.rule,
        ) from None
    if url.connect_timeout is None and settings.connect_timeout:
        url = dataclasses.replace(url, connect_timeout=settings.connect_timeout)
    return url


@contextmanager
def as_migration_role() -> Iterator[GatewayEngine]:
    """The project engine, connecting as the migration role inside the block (when
    ``DATABASE_MIGRATION_URL`` is set; otherwise as ``DATABASE_URL``)."""
    engine = project_engine()
    url = migration_url()
    direct_connection_required(url or engine.url)
    if url is None:
        yield engine
        return
    with engine.connecting_as(url):
        yield engine


def direct_connection_required(url: DatabaseUrl) -> None:
    """Refuse to change the schema through PgBouncer (``pgbouncer=true``): the deploy lock
    is a session advisory lock and ``CREATE INDEX CONCURRENTLY`` cannot run in a transaction
    block, neither of which survives transaction pooling."""
    if url.pgbouncer:
        raise ConfigurationError(
            "deploy, reset and restore need a direct connection to PostgreSQL, not PgBouncer "
            "(pgbouncer=true): the deploy lock is a session advisory lock and concurrent index "
            "builds cannot share a pooled transaction; set DATABASE_MIGRATION_URL to the "
            "server's own address",
            field="DATABASE_MIGRATION_URL",
            rule="pgbouncer_incompatible",
        )


P = ParamSpec("P")
R = TypeVar("R")


def on_migration_role(
    function: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Run the async ``function`` as the migration role (deploy, reset, restore)."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with as_migration_role():
            return await function(*args, **kwargs)

    return run
