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
