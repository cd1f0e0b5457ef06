"""Fault injection against the real test server: terminate backends, unreachable servers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from apps.core.dburl import parse_database_url
from apps.core.engine import GatewayEngine, build_engine
from apps.core.settings import Settings

TEST_URL = os.environ["DATABASE_URL"]


def engine_for(url: str = TEST_URL, **settings: object) -> GatewayEngine:
    """An engine of its own (its own pool), so a fault cannot touch the suite's engine."""
    return build_engine(Settings(database_url=url, **settings))  # type: ignore[arg-type]


async def terminate_backend(pid: int) -> None:
    """``pg_terminate_backend`` from a separate superuser connection, as an operator would."""
    admin = await asyncpg.connect(parse_database_url(TEST_URL).dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def sessions(application_name: str) -> list[str]:
    """The states of the server sessions with ``application_name``."""
    admin = await asyncpg.connect(parse_database_url(TEST_URL).dsn)
    try:
        rows = await admin.fetch(
            "SELECT state FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await admin.close()
    return [row["state"] for row in rows]


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers (a hung server)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


# --- deploys -------------------------------------------------------------------------------

# What a deploy builds, read from the catalogs: a change to any of these is a schema change.
_SCHEMA_QUERIES = {
    "columns": (
        "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
        " || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
        " || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    "constraints": (
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
        " || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    ),
    "indexes": (
        "SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID'"
        " END FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = 'public'::regnamespace"
    ),
    "triggers": (
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal"
    ),
    "functions": (
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
        "LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' "
        "WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p') "
        "AND d.objid IS NULL"
    ),
    "extensions": "SELECT extname || ' ' || extversion FROM pg_extension",
    "sequences": (
        "SELECT c.relname FROM pg_class c "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'"
    ),
    "history": "SELECT app_name || ':' || name FROM migration",
}


async def schema_fingerprint(url: str) -> dict[str, list[str]]:
    """Every column, constraint, index (and its validity), trigger, function, extension,
    sequence and applied migration of ``url``'s database, each list sorted."""
    connection = await asyncpg.connect(parse_database_url(url).dsn)
    try:
        return {
            part: sorted(row[0] for row in await connection.fetch(query))
            for part, query in _SCHEMA_QUERIES.items()
        }
    finally:
        await connection.close()
